-- Repeated SETs of one variable replace each other in the replay list, which reorders them
-- against SETs that read it: @saved_mode is replayed before the sql_mode it saved.
-- direct: ANSI_QUOTES   proxy: the server default   (seeds 8, 42, 63, 69, 91, 95, 110, 193, 229, 273)
-- (and the OK packets then carry the wrong ANSI_QUOTES / NO_BACKSLASH_ESCAPES status flags,
-- which PyMySQL uses to choose its string escaping: seeds 134, 165, 194, 207)
SET sql_mode = 'ANSI_QUOTES'
SET @saved_mode = @@sql_mode
SET sql_mode = 'STRICT_TRANS_TABLES'
SET sql_mode = @saved_mode
SELECT @@sql_mode
