-- A SET that reads FOUND_ROWS()/ROW_COUNT() and also sets a session variable runs where the
-- previous statement ran and its session variable never reaches the other backend.
-- direct: ANSI_QUOTES   proxy: the default sql_mode          (seeds 77, 266, 436)
SET @a = FOUND_ROWS(), sql_mode = 'ANSI_QUOTES'
SELECT @@sql_mode
