% Exhaustive sweeps of the oracle test (tests/oracle.rs), run in full every time. Same line
% format as corpus.sql. {B} takes every byte 0x00-0xFF (bytes >= 0x80 under every character
% set, the others under utf8mb4 and latin1); {LEAD} every multi-byte lead candidate 0x81-0xFE
% (all of them under the multi-byte character sets, a sample under the others). A line that
% starts with `[cs,cs] ` runs under those character sets only, with every byte.

% `--` followed by a byte the server may count as space or control: a comment for it.
SELECT 1 --{B} '\x0a; INSERT INTO t (b) VALUES (9) -- '
% A byte between tokens the server may count as whitespace (0xA0 in latin1).
SELECT 1{B}INTO @nb
[utf8mb4,latin1] SELECT GET_LOCK{B}('lk1', 0)
[utf8mb4,latin1] SELECT @nb{B}:= 1

% A lead byte that makes the next \ ` or ' its trail byte, in both directions: the server reads
% a character where a charset-blind lexer reads an escape or a closing quote (under-reading),
% or a lexer takes a byte as a lead that the server does not (over-reading).
SELECT '{LEAD}\\' '; INSERT INTO t (b) VALUES (7) #'
SELECT '{LEAD}\\', 1 INTO @nb -- '
SELECT "{LEAD}\\" "; INSERT INTO t (b) VALUES (7) #"
SELECT 1 AS `a{LEAD}`, '`; INSERT INTO t (b) VALUES (8) #'
SELECT 1 AS `a{LEAD}`, 1 INTO @nb -- `
SELECT '{LEAD}'' '; INSERT INTO t (b) VALUES (6) #'
SELECT '{LEAD}', 1 INTO @nb -- '
