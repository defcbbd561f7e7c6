-- Q0: one contact by id.
SELECT json_build_object('id', c.id, 'displayName', c.display_name, 'kind', c.kind,
    'category', c.category, 'codiceFiscale', c.codice_fiscale,
    'partitaIva', c.partita_iva, 'notes', c.notes)
FROM contacts c WHERE c.id = :id;
