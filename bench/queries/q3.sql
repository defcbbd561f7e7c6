-- Q3: five levels: client contacts -> their matters -> 5 newest communications of each ->
-- participants -> the organisations they work for.
SELECT json_agg(json_build_object('id', c.id, 'displayName', c.display_name,
    'matters', (SELECT coalesce(json_agg(json_build_object('id', m.id, 'reference', m.reference,
        'communications', (SELECT coalesce(json_agg(json_build_object('id', k.id, 'subject', k.subject,
            'participants', (SELECT coalesce(json_agg(json_build_object('id', pc.id,
                'displayName', pc.display_name,
                'organizations', (SELECT coalesce(json_agg(json_build_object('id', o.id,
                                      'displayName', o.display_name) ORDER BY o.id), '[]')
                                  FROM affiliations a JOIN contacts o ON o.id = a.organization_id
                                  WHERE a.person_id = pc.id))
                ORDER BY pc.id), '[]')
              FROM communication_participants cp JOIN contacts pc ON pc.id = cp.contact_id
              WHERE cp.communication_id = k.id))
            ORDER BY k.occurred_at DESC, k.id DESC), '[]')
          FROM (SELECT * FROM communications WHERE matter_id = m.id
                ORDER BY occurred_at DESC, id DESC LIMIT 5) k))
        ORDER BY m.id), '[]')
      FROM matter_parties mp JOIN matters m ON m.id = mp.matter_id
      WHERE mp.contact_id = c.id))
  ORDER BY c.sort_name, c.id)
FROM (SELECT * FROM contacts WHERE category = 'client' ORDER BY sort_name, id LIMIT 25) c;
