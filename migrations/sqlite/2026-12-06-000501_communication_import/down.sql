DROP TABLE sync_message_links;
DROP TABLE communication_attachments;
DROP TABLE communication_imports;
