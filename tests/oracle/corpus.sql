% Seed statements of the oracle test (tests/oracle.rs): the server is the oracle for where
% rwsplit's classifier may send a statement. The generator fills the placeholders, mutates the
% statements (numbers glued to keywords, bytes after `--`, between tokens and in strings,
% multi-byte lead bytes before \ ' `, backtick- and double-quoted built-ins, executable
% comments, statements joined with `;`, hints) and runs those the classifier sends to a replica
% on a read-only replica.
%
% One statement per line. `\xNN` is the byte NN (\x0a a newline); every other byte stands for
% itself (a backslash too). Lines starting with % are comments; blank lines are skipped.
% Placeholders: {N} a number in one of its forms (1, 1.5, .5, 1e1, 3e+1, 0x1F, ...), {V} a user
% variable name, {L} a lock name, {F} an output file name (unique per statement), {T} a
% temporary table name. The database has table t (a INT AUTO_INCREMENT PRIMARY KEY, b INT) and
% sequence s1.

% Plain reads: the replica's business.
SELECT 1
SELECT {N}
SELECT a, b FROM t WHERE a = {N}
SELECT a FROM t WHERE b > {N} ORDER BY a LIMIT 2
SELECT COUNT(*), MAX(b) FROM t GROUP BY a HAVING COUNT(*) > 0
SELECT * FROM t AS x JOIN t AS y ON x.a = y.b
SELECT a FROM t WHERE a IN (SELECT b FROM t)
(SELECT a FROM t) UNION ALL (SELECT b FROM t)
SELECT 1 UNION SELECT {N}
WITH c AS (SELECT a FROM t) SELECT * FROM c
SHOW TABLES
SHOW COLUMNS FROM t
SHOW CREATE TABLE t
DESCRIBE t
EXPLAIN SELECT * FROM t WHERE a = 1
SELECT 'a string', "a dq string", `a` FROM t
SELECT 'it\'s', 'a''b', "c\"d", 'e\\' FROM t
SELECT CONCAT('--', '#', '/*', '*/', ';') FROM t
SELECT 1 /* a comment */ + 1
SELECT 1 -- a comment\x0a
SELECT 1 # a comment\x0a+ 1
SELECT 1 /*! + 1 */
SELECT 1 /*!50700 + 1 */
SELECT 1 /*M! + 1 */
SELECT 1 /*M!100100 + 1 */
SELECT 1 /*!99999 + 1 */
SELECT @@version, @@sql_mode, @@session.autocommit
SELECT @{V}, @{V}
SELECT FOUND_ROWS()
SELECT ROW_COUNT()
SHOW WARNINGS
SELECT SQL_CALC_FOUND_ROWS a FROM t LIMIT 1
SELECT RAND(), UUID(), NOW()
SELECT a FROM t WHERE b = 'INTO @x' OR b = "GET_LOCK('q', 0)"
SELECT `INTO`, `GET_LOCK` FROM (SELECT 1 AS `INTO`, 2 AS `GET_LOCK`) AS d
SELECT 1 AS `x``y`, 2 AS `;INSERT`
SELECT a FROM t FOR UPDATE
SELECT a FROM t LOCK IN SHARE MODE

% Reads that assign: INTO @var, INTO OUTFILE, INTO DUMPFILE.
SELECT {N} INTO @{V}
SELECT {N}INTO @{V}
SELECT a INTO @{V} FROM t LIMIT 1
SELECT a FROM t LIMIT 1 INTO @{V}
SELECT a FROM t WHERE a = {N} INTO @{V}
SELECT {N}, {N} INTO @{V}, @{V}
SELECT {N} UNION SELECT {N} INTO @{V}
SELECT 1 FROM DUAL WHERE 0 INTO @{V}
SELECT {N} INTO OUTFILE '{F}'
SELECT {N}INTO OUTFILE '{F}'
SELECT a FROM t INTO OUTFILE '{F}' FIELDS TERMINATED BY ','
SELECT {N} INTO DUMPFILE '{F}'
SELECT a FROM t LIMIT 1 INTO DUMPFILE '{F}'

% Named locks.
SELECT GET_LOCK('{L}', 0)
SELECT a, GET_LOCK('{L}', 0) FROM t LIMIT 1
SELECT 1 FROM t WHERE GET_LOCK('{L}', 0) = 1
SELECT RELEASE_LOCK('{L}')
SELECT RELEASE_ALL_LOCKS()
SELECT IS_FREE_LOCK('{L}')
SELECT IS_USED_LOCK('{L}')
DO GET_LOCK('{L}', 0)

% The connection's own state; sequences.
SELECT LAST_INSERT_ID()
SELECT LAST_INSERT_ID({N})
SELECT @@identity, @@last_insert_id
SELECT CONNECTION_ID()
SELECT NEXTVAL(s1)
SELECT NEXT VALUE FOR s1
SELECT LASTVAL(s1)
SELECT PREVIOUS VALUE FOR s1
SELECT SETVAL(s1, 100)
SELECT a, NEXTVAL(s1) FROM t

% Assignments and session state.
SET @{V} := {N}
SET @{V} = {N}, @{V} = 'x'
SET @{V} = (SELECT MAX(a) FROM t)
SET @{V} = RAND()
SET @{V} = UUID()
SET @{V} = LAST_INSERT_ID()
SET @{V} = CONNECTION_ID()
SET @{V} = @@server_id
SET @{V} = NOW(6)
SET @{V} = GET_LOCK('{L}', 0)
SET @{V} = NEXTVAL(s1)
SELECT @{V} := {N}
SELECT a, @{V} := a FROM t
SELECT (@{V} := {N}) + 1
SELECT @{V}:={N}
DO @{V} := {N}
DO {N}
DO RELEASE_LOCK('{L}')
SET NAMES utf8mb4
SET sql_mode = 'ANSI_QUOTES'
SET autocommit = 0
USE rwsplit_oracle

% Temporary tables.
CREATE TEMPORARY TABLE {T} (a INT)
CREATE TEMPORARY TABLE {T} AS SELECT * FROM t
CREATE TEMPORARY TABLE IF NOT EXISTS {T} SELECT 1 AS x
CREATE OR REPLACE TEMPORARY TABLE {T} (a INT)

% Writes, transactions, table locks.
INSERT INTO t (b) VALUES ({N})
INSERT INTO t (b) SELECT b FROM t LIMIT 1
UPDATE t SET b = b + 1 WHERE a = {N}
DELETE FROM t WHERE a = {N}
REPLACE INTO t (b) VALUES ({N})
INSERT INTO t (a, b) VALUES (1, 1) ON DUPLICATE KEY UPDATE b = b + 1
BEGIN
START TRANSACTION
START TRANSACTION READ ONLY
LOCK TABLES t READ
HANDLER t OPEN

% Multi-statements.
SELECT 1; SELECT 2
SELECT a FROM t; SELECT b FROM t
SELECT 1; INSERT INTO t (b) VALUES ({N})
SELECT 1; SET @{V} = {N}
SELECT 1; DO GET_LOCK('{L}', 0)
SELECT 1; CREATE TEMPORARY TABLE {T} (a INT)
SET @{V} = 1; SET @{V} = 2
SELECT 1;\x0aSELECT {N} INTO @{V}
SELECT ROW_COUNT(); SET @{V} = {N}
SET @{V} = {N}; SELECT FOUND_ROWS()
SHOW WARNINGS; SET @{V} = 1
SELECT ROW_COUNT(), @{V} := 1
SELECT FOUND_ROWS(); SELECT LAST_INSERT_ID()
SHOW WARNINGS; SELECT @@identity

% Executable comments.
SELECT 1 /*! INTO @{V} */
SELECT 1 /*!50700 INTO @{V} */
SELECT 1 /*M! INTO @{V} */
SELECT 1 /*M!100100 INTO @{V} */
SELECT 1 /*!99999 INTO @{V} */
SELECT 1 /*M!999999 INTO @{V} */
/*! SELECT GET_LOCK('{L}', 0) */
/*!40101 INSERT INTO t (b) VALUES (1) */
SELECT /*! GET_LOCK('{L}', 0) */
SELECT 1 /*!, GET_LOCK('{L}', 0) */
SELECT 1 /*!50700 ; INSERT INTO t (b) VALUES (1) */
/*!50700 SELECT */ 1 INTO @{V}
SELECT 1 /*! INTO OUTFILE '{F}' */
SELECT /*!{N}INTO */ @{V}
SELECT /*M!{N}INTO @{V} */
SELECT /*!12 INTO */ @{V}
/*!50700 SELECT 1 INTO @{V} */

% Routing hints.
/* rwsplit:replica */ SELECT a FROM t
/* rwsplit:replica */ SELECT LAST_INSERT_ID()
/* rwsplit:replica */ SELECT a FROM t FOR UPDATE
/* rwsplit:replica */ SELECT GET_LOCK('{L}', 0)
/* rwsplit:replica */ SELECT {N} INTO @{V}
-- rwsplit:replica\x0aSELECT a FROM t
# rwsplit:replica\x0aSELECT IS_FREE_LOCK('{L}')
/*rwsplit:master*/ SELECT 1

% Lexical traps: comments and quotes that decide whether a write is code or text.
SELECT 1 -- '\x0a; INSERT INTO t (b) VALUES (9) -- '
SELECT 1 --'\x0a; INSERT INTO t (b) VALUES (9) -- '
SELECT 1 # '\x0a; INSERT INTO t (b) VALUES (9) -- '
SELECT 1 /* ' */ , '; INSERT INTO t (b) VALUES (9) -- '
SELECT '\\' '; INSERT INTO t (b) VALUES (7) #'
SELECT '\\', 1 INTO @{V} -- '
SELECT 1 AS `a`, '`; INSERT INTO t (b) VALUES (8) #'
SELECT 1 AS `a`, 1 INTO @{V} -- `
SELECT "\\" "; INSERT INTO t (b) VALUES (6) #"
SELECT "\" ; INSERT INTO t (b) VALUES (6) -- "
SELECT 'a\' ; INSERT INTO t (b) VALUES (5) -- '
SELECT 1 --\x7f '\x0a; INSERT INTO t (b) VALUES (9) -- '
SELECT 1.5INTO @{V}
SELECT 1e1INTO @{V}
SELECT .5INTO @{V}
SELECT 3e+1INTO @{V}
SELECT 1.5INTO OUTFILE '{F}'
SELECT `GET_LOCK`('{L}', 0)
SELECT `LAST_INSERT_ID`()
SET @{V} = `RAND`()
DO @{V} := 7
