DROP TABLE sync_record_links;
