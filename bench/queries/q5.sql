-- Q5: a lawyer's first 50 matters by reference (those whose team they are on or which they
-- lead: lexgate's need-to-know), with their clients and next 5 open deadlines.
SELECT json_agg(json_build_object('id', m.id, 'reference', m.reference, 'title', m.title,
    'status', m.status,
    'clients', (SELECT coalesce(json_agg(json_build_object('id', c.id, 'displayName', c.display_name)
                                         ORDER BY c.id), '[]')
                FROM matter_parties p JOIN contacts c ON c.id = p.contact_id
                WHERE p.matter_id = m.id AND p.role = 'client'),
    'deadlines', (SELECT coalesce(json_agg(json_build_object('id', d.id, 'title', d.title,
                      'dueAt', d.due_at) ORDER BY d.due_at, d.id), '[]')
                  FROM (SELECT * FROM deadlines WHERE matter_id = m.id AND status = 'open'
                        ORDER BY due_at, id LIMIT 5) d))
  ORDER BY m.reference, m.id)
FROM (SELECT * FROM matters
      WHERE id IN (SELECT matter_id FROM matter_team_members WHERE user_id = :user)
         OR responsible_user_id = :user
      ORDER BY reference, id LIMIT 50) m;
