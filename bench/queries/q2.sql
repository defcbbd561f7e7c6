-- Q2: 50 matters by reference, with their clients, team and next 5 open deadlines.
SELECT json_agg(json_build_object('id', m.id, 'reference', m.reference, 'title', m.title,
    'status', m.status,
    'clients', (SELECT coalesce(json_agg(json_build_object('id', c.id, 'displayName', c.display_name)
                                         ORDER BY c.id), '[]')
                FROM matter_parties p JOIN contacts c ON c.id = p.contact_id
                WHERE p.matter_id = m.id AND p.role = 'client'),
    'team', (SELECT coalesce(json_agg(json_build_object('role', t.role,
                 'user', json_build_object('id', u.id, 'displayName', u.display_name))
                 ORDER BY u.id), '[]')
             FROM matter_team_members t JOIN users u ON u.id = t.user_id
             WHERE t.matter_id = m.id),
    'deadlines', (SELECT coalesce(json_agg(json_build_object('id', d.id, 'title', d.title,
                      'dueAt', d.due_at) ORDER BY d.due_at, d.id), '[]')
                  FROM (SELECT * FROM deadlines WHERE matter_id = m.id AND status = 'open'
                        ORDER BY due_at, id LIMIT 5) d))
  ORDER BY m.reference, m.id)
FROM (SELECT * FROM matters ORDER BY reference, id LIMIT 50) m;
