-- Q4: a large page: the first 1000 contacts by name.
SELECT json_agg(json_build_object('id', c.id, 'displayName', c.display_name,
    'category', c.category) ORDER BY c.sort_name, c.id)
FROM (SELECT * FROM contacts ORDER BY sort_name, id LIMIT 1000) c;
