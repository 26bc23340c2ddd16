-- DO @x := ... runs on the master but is not recorded as a user-variable assignment: later
-- reads of @x go to a replica.     direct: 5   proxy: NULL (or an older value)   (seeds 24, 57, 58, 242, 282)
DO @b := 5
SELECT @b
