DROP TABLE matter_folder_requests;
