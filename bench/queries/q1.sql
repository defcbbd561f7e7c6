-- Q1: the first 50 contacts by name, with their e-mail addresses and phone numbers.
SELECT json_agg(json_build_object('id', c.id, 'displayName', c.display_name,
    'emails', (SELECT coalesce(json_agg(json_build_object('address', e.address, 'isPec', e.is_pec)
                                        ORDER BY e.position), '[]')
               FROM contact_emails e WHERE e.contact_id = c.id),
    'phones', (SELECT coalesce(json_agg(p.number ORDER BY p.position), '[]')
               FROM contact_phones p WHERE p.contact_id = c.id))
  ORDER BY c.sort_name, c.id)
FROM (SELECT * FROM contacts ORDER BY sort_name, id LIMIT 50) c;
