DROP TABLE daily_digests;
