-- duckraft: PostgreSQL-compatibility catalog for DuckDB 2.0 (duckdb crate 1.20000.1).
--
-- Run once per DuckDB instance (= per catalog file), on any connection of that instance, right after opening it.
-- Idempotent: every object is CREATE OR REPLACE / IF NOT EXISTS. Nothing here writes to the user's database file:
-- all objects live in the in-memory database `duckraft_pg`, which is shared by every connection of the instance.
--
-- Per connection (each duckdb::Connection / try_clone), the server must then run:
--     SET search_path = 'public,duckraft_pg.main';
--     SET VARIABLE duckraft_settings = MAP {'application_name': '...', 'session_authorization': '<user>',
--                                           'backend_pid': '<pid>', 'search_path': '"$user", public', ...};
-- (search_path and variables are per connection; see crates/sql/REWRITE_RULES.md, section "Setup").
-- The user's schema `public` must already exist in the catalog file (CREATE SCHEMA IF NOT EXISTS public, replicated).
--
-- Name resolution (verified on DuckDB 2.0.0): with search_path 'public,duckraft_pg.main' an unqualified name is looked
-- up in temp.main, <file>.public, duckraft_pg.main, <file>.main, system.main, system.pg_catalog, in that order, for
-- tables/views, macros AND types. So unqualified pg_class / version() / current_setting() resolve to the objects below
-- before DuckDB's built-ins. `pg_catalog.x` is NOT redirected by the search path (it binds system.pg_catalog), hence
-- the rewrite pg_catalog.x -> duckraft_pg.x. New tables are created in the FIRST search_path entry, so public must
-- come first.
--
-- OIDs: DuckDB's table_oid/schema_oid are renumbered on every open (verified: 22528 -> 20741 after reopen) and differ
-- between replicas, so they are NOT used. Every OID here is derived deterministically from names:
--     duckraft_oid(kind, key) = 16384 + (u32 from the first 8 hex digits of md5(kind || ':' || key)) % 2147467264
-- kinds: 'r' relations (tables, views, indexes, sequences; key 'schema.name'), 'n' schemas (key = name; except
-- pg_catalog=11, public=2200, information_schema=13207), 't' types (enums, table row types; key 'schema.name'),
-- 'c' constraints (key 'schema.table.conname'), 'd' column defaults (key 'schema.table.column'),
-- 'e' enum labels (key 'schema.type.label'), 'p' functions (key 'schema.name'), 'db' databases (key = datname).
-- Rust can compute the same numbers (md5 crate) e.g. for RowDescription table OIDs. Range 16384..2^31-1 (fits int4).
-- Built-in PostgreSQL catalogs keep their real OIDs (pg_class = 1259, ...).

ATTACH IF NOT EXISTS ':memory:' AS duckraft_pg;

-- ---------------------------------------------------------------------------------------------------------------
-- Types used in client SQL that DuckDB lacks (resolved through the search path like any type).
-- 'oid' cannot be redefined (DuckDB has a built-in alias oid = BIGINT): the rewriter turns ::oid into ::UINTEGER.
-- ---------------------------------------------------------------------------------------------------------------
DROP TYPE IF EXISTS duckraft_pg.main."name";
CREATE TYPE duckraft_pg.main."name" AS VARCHAR;
DROP TYPE IF EXISTS duckraft_pg.main.jsonb;
CREATE TYPE duckraft_pg.main.jsonb AS JSON;
DROP TYPE IF EXISTS duckraft_pg.main.xid;
CREATE TYPE duckraft_pg.main.xid AS UINTEGER;
DROP TYPE IF EXISTS duckraft_pg.main.regproc;
CREATE TYPE duckraft_pg.main.regproc AS VARCHAR;
DROP TYPE IF EXISTS duckraft_pg.main.pg_node_tree;
CREATE TYPE duckraft_pg.main.pg_node_tree AS VARCHAR;
DROP TYPE IF EXISTS duckraft_pg.main.int2vector;
CREATE TYPE duckraft_pg.main.int2vector AS SMALLINT[];
DROP TYPE IF EXISTS duckraft_pg.main.oidvector;
CREATE TYPE duckraft_pg.main.oidvector AS UINTEGER[];
DROP TYPE IF EXISTS duckraft_pg.main.aclitem;
CREATE TYPE duckraft_pg.main.aclitem AS VARCHAR;

-- ---------------------------------------------------------------------------------------------------------------
-- Server-maintained tables (the server may INSERT/DELETE; the defaults make a standalone instance work).
-- ---------------------------------------------------------------------------------------------------------------
-- One row per duckraft catalog (= PostgreSQL database). The server should keep this in sync on every open instance
-- (DELETE + INSERT when CREATE/DROP DATABASE commits). Empty => pg_database shows only the current database.
CREATE TABLE IF NOT EXISTS duckraft_pg.main.duckraft_databases (datname VARCHAR PRIMARY KEY, oid UINTEGER);
-- The PostgreSQL name of this instance's database and static facts (one row; the server may UPDATE datname).
CREATE TABLE IF NOT EXISTS duckraft_pg.main.duckraft_instance (
    datname VARCHAR, server_version VARCHAR, duckraft_version VARCHAR, started_at TIMESTAMPTZ);
-- datname NULL = use DuckDB's name of the catalog file (the default database of the connection).
INSERT INTO duckraft_pg.main.duckraft_instance
    SELECT NULL, '15.0', '0.1.0', now()
    WHERE NOT EXISTS (SELECT 1 FROM duckraft_pg.main.duckraft_instance);
-- Roles (the server mirrors its user list; oid 10 is the bootstrap superuser as in PostgreSQL).
CREATE TABLE IF NOT EXISTS duckraft_pg.main.duckraft_roles (
    oid UINTEGER PRIMARY KEY, rolname VARCHAR, rolsuper BOOLEAN, rolcanlogin BOOLEAN);
INSERT INTO duckraft_pg.main.duckraft_roles
    SELECT 10, 'duckraft', true, true WHERE NOT EXISTS (SELECT 1 FROM duckraft_pg.main.duckraft_roles);

-- ---------------------------------------------------------------------------------------------------------------
-- Basic helpers
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_oid(kind, key) AS
    (16384 + (('0x' || substr(md5(kind || ':' || key), 1, 8))::UBIGINT % 2147467264))::UINTEGER;

CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_nsp_oid(nsp) AS
    CASE nsp WHEN 'pg_catalog' THEN 11 WHEN 'public' THEN 2200 WHEN 'information_schema' THEN 13207
             WHEN 'pg_toast' THEN 99 ELSE duckraft_pg.main.duckraft_oid('n', nsp) END::UINTEGER;

-- Session settings: per-connection MAP variable set by the server, falling back to pg_settings defaults.
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_session(k) AS
    TRY_CAST(getvariable('duckraft_settings') AS MAP(VARCHAR, VARCHAR))[lower(k)];

CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_user() AS
    coalesce(duckraft_pg.main.duckraft_session('session_authorization'),
             (SELECT rolname FROM duckraft_pg.main.duckraft_roles ORDER BY oid LIMIT 1));

CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_datname() AS
    coalesce((SELECT datname FROM duckraft_pg.main.duckraft_instance LIMIT 1), system.main.current_database());

-- PostgreSQL-style identifier quoting (quote_ident).
-- The reserved words as one string rather than an IN list: DuckDB binds the macro at every use, and an
-- IN list of 77 constants made binding a view that quotes a few names cost milliseconds.
CREATE OR REPLACE MACRO duckraft_pg.main.quote_ident(s) AS
    CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*')
              AND position('|' || s || '|' IN '|all|analyse|analyze|and|any|array|as|asc|asymmetric|both|case|cast|check|collate|column|'
                  || 'constraint|create|current_catalog|current_date|current_role|current_time|current_timestamp|'
                  || 'current_user|default|deferrable|desc|distinct|do|else|end|except|false|fetch|for|foreign|from|'
                  || 'grant|group|having|in|initially|intersect|into|lateral|leading|limit|localtime|localtimestamp|not|'
                  || 'null|offset|on|only|or|order|placing|primary|references|returning|select|session_user|some|'
                  || 'symmetric|table|then|to|trailing|true|union|unique|user|using|variadic|when|where|window|with|') = 0
         THEN s ELSE '"' || replace(s, '"', '""') || '"' END;

-- ---------------------------------------------------------------------------------------------------------------
-- Static data copied from PostgreSQL 15
-- ---------------------------------------------------------------------------------------------------------------
-- All pg_catalog types that are not table row types (typrelid = 0), with their real OIDs.
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_builtin_types (
    oid UINTEGER, typname VARCHAR, typnamespace UINTEGER, typowner UINTEGER, typlen SMALLINT, typbyval BOOLEAN,
    typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR,
    typrelid UINTEGER, typsubscript VARCHAR, typelem UINTEGER, typarray UINTEGER, typinput VARCHAR, typoutput VARCHAR,
    typreceive VARCHAR, typsend VARCHAR, typmodin VARCHAR, typmodout VARCHAR, typanalyze VARCHAR, typalign VARCHAR,
    typstorage VARCHAR, typnotnull BOOLEAN, typbasetype UINTEGER, typtypmod INTEGER, typndims INTEGER,
    typcollation UINTEGER);
INSERT INTO duckraft_pg.main.duckraft_builtin_types VALUES
    (16,'bool',11,10,1,true,'b','B',true,true,',',0,'-',0,1000,'boolin','boolout','boolrecv','boolsend','-','-','-','c','p',false,0,-1,0,0),
    (17,'bytea',11,10,-1,false,'b','U',false,true,',',0,'-',0,1001,'byteain','byteaout','bytearecv','byteasend','-','-','-','i','x',false,0,-1,0,0),
    (18,'char',11,10,1,true,'b','Z',false,true,',',0,'-',0,1002,'charin','charout','charrecv','charsend','-','-','-','c','p',false,0,-1,0,0),
    (19,'name',11,10,64,false,'b','S',false,true,',',0,'raw_array_subscript_handler',18,1003,'namein','nameout','namerecv','namesend','-','-','-','c','p',false,0,-1,0,950),
    (20,'int8',11,10,8,true,'b','N',false,true,',',0,'-',0,1016,'int8in','int8out','int8recv','int8send','-','-','-','d','p',false,0,-1,0,0),
    (21,'int2',11,10,2,true,'b','N',false,true,',',0,'-',0,1005,'int2in','int2out','int2recv','int2send','-','-','-','s','p',false,0,-1,0,0),
    (22,'int2vector',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',21,1006,'int2vectorin','int2vectorout','int2vectorrecv','int2vectorsend','-','-','-','i','p',false,0,-1,0,0),
    (23,'int4',11,10,4,true,'b','N',false,true,',',0,'-',0,1007,'int4in','int4out','int4recv','int4send','-','-','-','i','p',false,0,-1,0,0),
    (24,'regproc',11,10,4,true,'b','N',false,true,',',0,'-',0,1008,'regprocin','regprocout','regprocrecv','regprocsend','-','-','-','i','p',false,0,-1,0,0),
    (25,'text',11,10,-1,false,'b','S',true,true,',',0,'-',0,1009,'textin','textout','textrecv','textsend','-','-','-','i','x',false,0,-1,0,100),
    (26,'oid',11,10,4,true,'b','N',true,true,',',0,'-',0,1028,'oidin','oidout','oidrecv','oidsend','-','-','-','i','p',false,0,-1,0,0),
    (27,'tid',11,10,6,false,'b','U',false,true,',',0,'-',0,1010,'tidin','tidout','tidrecv','tidsend','-','-','-','s','p',false,0,-1,0,0),
    (28,'xid',11,10,4,true,'b','U',false,true,',',0,'-',0,1011,'xidin','xidout','xidrecv','xidsend','-','-','-','i','p',false,0,-1,0,0),
    (29,'cid',11,10,4,true,'b','U',false,true,',',0,'-',0,1012,'cidin','cidout','cidrecv','cidsend','-','-','-','i','p',false,0,-1,0,0),
    (30,'oidvector',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',26,1013,'oidvectorin','oidvectorout','oidvectorrecv','oidvectorsend','-','-','-','i','p',false,0,-1,0,0),
    (32,'pg_ddl_command',11,10,8,true,'p','P',false,true,',',0,'-',0,0,'pg_ddl_command_in','pg_ddl_command_out','pg_ddl_command_recv','pg_ddl_command_send','-','-','-','d','p',false,0,-1,0,0),
    (114,'json',11,10,-1,false,'b','U',false,true,',',0,'-',0,199,'json_in','json_out','json_recv','json_send','-','-','-','i','x',false,0,-1,0,0),
    (142,'xml',11,10,-1,false,'b','U',false,true,',',0,'-',0,143,'xml_in','xml_out','xml_recv','xml_send','-','-','-','i','x',false,0,-1,0,0),
    (143,'_xml',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',142,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (194,'pg_node_tree',11,10,-1,false,'b','Z',false,true,',',0,'-',0,0,'pg_node_tree_in','pg_node_tree_out','pg_node_tree_recv','pg_node_tree_send','-','-','-','i','x',false,0,-1,0,100),
    (199,'_json',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',114,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (210,'_pg_type',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',71,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (269,'table_am_handler',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'table_am_handler_in','table_am_handler_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (270,'_pg_attribute',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',75,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (271,'_xid8',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',5069,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (272,'_pg_proc',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',81,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (273,'_pg_class',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',83,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (325,'index_am_handler',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'index_am_handler_in','index_am_handler_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (600,'point',11,10,16,false,'b','G',false,true,',',0,'raw_array_subscript_handler',701,1017,'point_in','point_out','point_recv','point_send','-','-','-','d','p',false,0,-1,0,0),
    (601,'lseg',11,10,32,false,'b','G',false,true,',',0,'raw_array_subscript_handler',600,1018,'lseg_in','lseg_out','lseg_recv','lseg_send','-','-','-','d','p',false,0,-1,0,0),
    (602,'path',11,10,-1,false,'b','G',false,true,',',0,'-',0,1019,'path_in','path_out','path_recv','path_send','-','-','-','d','x',false,0,-1,0,0),
    (603,'box',11,10,32,false,'b','G',false,true,';',0,'raw_array_subscript_handler',600,1020,'box_in','box_out','box_recv','box_send','-','-','-','d','p',false,0,-1,0,0),
    (604,'polygon',11,10,-1,false,'b','G',false,true,',',0,'-',0,1027,'poly_in','poly_out','poly_recv','poly_send','-','-','-','d','x',false,0,-1,0,0),
    (628,'line',11,10,24,false,'b','G',false,true,',',0,'raw_array_subscript_handler',701,629,'line_in','line_out','line_recv','line_send','-','-','-','d','p',false,0,-1,0,0),
    (629,'_line',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',628,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (650,'cidr',11,10,-1,false,'b','I',false,true,',',0,'-',0,651,'cidr_in','cidr_out','cidr_recv','cidr_send','-','-','-','i','m',false,0,-1,0,0),
    (651,'_cidr',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',650,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (700,'float4',11,10,4,true,'b','N',false,true,',',0,'-',0,1021,'float4in','float4out','float4recv','float4send','-','-','-','i','p',false,0,-1,0,0),
    (701,'float8',11,10,8,true,'b','N',true,true,',',0,'-',0,1022,'float8in','float8out','float8recv','float8send','-','-','-','d','p',false,0,-1,0,0),
    (705,'unknown',11,10,-2,false,'p','X',false,true,',',0,'-',0,0,'unknownin','unknownout','unknownrecv','unknownsend','-','-','-','c','p',false,0,-1,0,0),
    (718,'circle',11,10,24,false,'b','G',false,true,',',0,'-',0,719,'circle_in','circle_out','circle_recv','circle_send','-','-','-','d','p',false,0,-1,0,0),
    (719,'_circle',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',718,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (774,'macaddr8',11,10,8,false,'b','U',false,true,',',0,'-',0,775,'macaddr8_in','macaddr8_out','macaddr8_recv','macaddr8_send','-','-','-','i','p',false,0,-1,0,0),
    (775,'_macaddr8',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',774,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (790,'money',11,10,8,true,'b','N',false,true,',',0,'-',0,791,'cash_in','cash_out','cash_recv','cash_send','-','-','-','d','p',false,0,-1,0,0),
    (791,'_money',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',790,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (829,'macaddr',11,10,6,false,'b','U',false,true,',',0,'-',0,1040,'macaddr_in','macaddr_out','macaddr_recv','macaddr_send','-','-','-','i','p',false,0,-1,0,0),
    (869,'inet',11,10,-1,false,'b','I',true,true,',',0,'-',0,1041,'inet_in','inet_out','inet_recv','inet_send','-','-','-','i','m',false,0,-1,0,0),
    (1000,'_bool',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',16,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1001,'_bytea',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',17,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1002,'_char',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',18,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1003,'_name',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',19,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,950),
    (1005,'_int2',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',21,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1006,'_int2vector',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',22,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1007,'_int4',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',23,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1008,'_regproc',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',24,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1009,'_text',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',25,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,100),
    (1010,'_tid',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',27,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1011,'_xid',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',28,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1012,'_cid',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',29,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1013,'_oidvector',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',30,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1014,'_bpchar',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1042,0,'array_in','array_out','array_recv','array_send','bpchartypmodin','bpchartypmodout','array_typanalyze','i','x',false,0,-1,0,100),
    (1015,'_varchar',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1043,0,'array_in','array_out','array_recv','array_send','varchartypmodin','varchartypmodout','array_typanalyze','i','x',false,0,-1,0,100),
    (1016,'_int8',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',20,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1017,'_point',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',600,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1018,'_lseg',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',601,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1019,'_path',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',602,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1020,'_box',11,10,-1,false,'b','A',false,true,';',0,'array_subscript_handler',603,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1021,'_float4',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',700,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1022,'_float8',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',701,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1027,'_polygon',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',604,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (1028,'_oid',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',26,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1033,'aclitem',11,10,12,false,'b','U',false,true,',',0,'-',0,1034,'aclitemin','aclitemout','-','-','-','-','-','i','p',false,0,-1,0,0),
    (1034,'_aclitem',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1033,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1040,'_macaddr',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',829,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1041,'_inet',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',869,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1042,'bpchar',11,10,-1,false,'b','S',false,true,',',0,'-',0,1014,'bpcharin','bpcharout','bpcharrecv','bpcharsend','bpchartypmodin','bpchartypmodout','-','i','x',false,0,-1,0,100),
    (1043,'varchar',11,10,-1,false,'b','S',false,true,',',0,'-',0,1015,'varcharin','varcharout','varcharrecv','varcharsend','varchartypmodin','varchartypmodout','-','i','x',false,0,-1,0,100),
    (1082,'date',11,10,4,true,'b','D',false,true,',',0,'-',0,1182,'date_in','date_out','date_recv','date_send','-','-','-','i','p',false,0,-1,0,0),
    (1083,'time',11,10,8,true,'b','D',false,true,',',0,'-',0,1183,'time_in','time_out','time_recv','time_send','timetypmodin','timetypmodout','-','d','p',false,0,-1,0,0),
    (1114,'timestamp',11,10,8,true,'b','D',false,true,',',0,'-',0,1115,'timestamp_in','timestamp_out','timestamp_recv','timestamp_send','timestamptypmodin','timestamptypmodout','-','d','p',false,0,-1,0,0),
    (1115,'_timestamp',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1114,0,'array_in','array_out','array_recv','array_send','timestamptypmodin','timestamptypmodout','array_typanalyze','d','x',false,0,-1,0,0),
    (1182,'_date',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1082,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1183,'_time',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1083,0,'array_in','array_out','array_recv','array_send','timetypmodin','timetypmodout','array_typanalyze','d','x',false,0,-1,0,0),
    (1184,'timestamptz',11,10,8,true,'b','D',true,true,',',0,'-',0,1185,'timestamptz_in','timestamptz_out','timestamptz_recv','timestamptz_send','timestamptztypmodin','timestamptztypmodout','-','d','p',false,0,-1,0,0),
    (1185,'_timestamptz',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1184,0,'array_in','array_out','array_recv','array_send','timestamptztypmodin','timestamptztypmodout','array_typanalyze','d','x',false,0,-1,0,0),
    (1186,'interval',11,10,16,false,'b','T',true,true,',',0,'-',0,1187,'interval_in','interval_out','interval_recv','interval_send','intervaltypmodin','intervaltypmodout','-','d','p',false,0,-1,0,0),
    (1187,'_interval',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1186,0,'array_in','array_out','array_recv','array_send','intervaltypmodin','intervaltypmodout','array_typanalyze','d','x',false,0,-1,0,0),
    (1231,'_numeric',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1700,0,'array_in','array_out','array_recv','array_send','numerictypmodin','numerictypmodout','array_typanalyze','i','x',false,0,-1,0,0),
    (1263,'_cstring',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2275,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (1266,'timetz',11,10,12,false,'b','D',false,true,',',0,'-',0,1270,'timetz_in','timetz_out','timetz_recv','timetz_send','timetztypmodin','timetztypmodout','-','d','p',false,0,-1,0,0),
    (1270,'_timetz',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1266,0,'array_in','array_out','array_recv','array_send','timetztypmodin','timetztypmodout','array_typanalyze','d','x',false,0,-1,0,0),
    (1560,'bit',11,10,-1,false,'b','V',false,true,',',0,'-',0,1561,'bit_in','bit_out','bit_recv','bit_send','bittypmodin','bittypmodout','-','i','x',false,0,-1,0,0),
    (1561,'_bit',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1560,0,'array_in','array_out','array_recv','array_send','bittypmodin','bittypmodout','array_typanalyze','i','x',false,0,-1,0,0),
    (1562,'varbit',11,10,-1,false,'b','V',true,true,',',0,'-',0,1563,'varbit_in','varbit_out','varbit_recv','varbit_send','varbittypmodin','varbittypmodout','-','i','x',false,0,-1,0,0),
    (1563,'_varbit',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1562,0,'array_in','array_out','array_recv','array_send','varbittypmodin','varbittypmodout','array_typanalyze','i','x',false,0,-1,0,0),
    (1700,'numeric',11,10,-1,false,'b','N',false,true,',',0,'-',0,1231,'numeric_in','numeric_out','numeric_recv','numeric_send','numerictypmodin','numerictypmodout','-','i','m',false,0,-1,0,0),
    (1790,'refcursor',11,10,-1,false,'b','U',false,true,',',0,'-',0,2201,'textin','textout','textrecv','textsend','-','-','-','i','x',false,0,-1,0,0),
    (2201,'_refcursor',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1790,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2202,'regprocedure',11,10,4,true,'b','N',false,true,',',0,'-',0,2207,'regprocedurein','regprocedureout','regprocedurerecv','regproceduresend','-','-','-','i','p',false,0,-1,0,0),
    (2203,'regoper',11,10,4,true,'b','N',false,true,',',0,'-',0,2208,'regoperin','regoperout','regoperrecv','regopersend','-','-','-','i','p',false,0,-1,0,0),
    (2204,'regoperator',11,10,4,true,'b','N',false,true,',',0,'-',0,2209,'regoperatorin','regoperatorout','regoperatorrecv','regoperatorsend','-','-','-','i','p',false,0,-1,0,0),
    (2205,'regclass',11,10,4,true,'b','N',false,true,',',0,'-',0,2210,'regclassin','regclassout','regclassrecv','regclasssend','-','-','-','i','p',false,0,-1,0,0),
    (2206,'regtype',11,10,4,true,'b','N',false,true,',',0,'-',0,2211,'regtypein','regtypeout','regtyperecv','regtypesend','-','-','-','i','p',false,0,-1,0,0),
    (2207,'_regprocedure',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2202,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2208,'_regoper',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2203,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2209,'_regoperator',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2204,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2210,'_regclass',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2205,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2211,'_regtype',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2206,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2249,'record',11,10,-1,false,'p','P',false,true,',',0,'-',0,2287,'record_in','record_out','record_recv','record_send','-','-','-','d','x',false,0,-1,0,0),
    (2275,'cstring',11,10,-2,false,'p','P',false,true,',',0,'-',0,1263,'cstring_in','cstring_out','cstring_recv','cstring_send','-','-','-','c','p',false,0,-1,0,0),
    (2276,'any',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'any_in','any_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (2277,'anyarray',11,10,-1,false,'p','P',false,true,',',0,'-',0,0,'anyarray_in','anyarray_out','anyarray_recv','anyarray_send','-','-','-','d','x',false,0,-1,0,0),
    (2278,'void',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'void_in','void_out','void_recv','void_send','-','-','-','i','p',false,0,-1,0,0),
    (2279,'trigger',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'trigger_in','trigger_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (2280,'language_handler',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'language_handler_in','language_handler_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (2281,'internal',11,10,8,true,'p','P',false,true,',',0,'-',0,0,'internal_in','internal_out','-','-','-','-','-','d','p',false,0,-1,0,0),
    (2283,'anyelement',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'anyelement_in','anyelement_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (2287,'_record',11,10,-1,false,'p','P',false,true,',',0,'array_subscript_handler',2249,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (2776,'anynonarray',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'anynonarray_in','anynonarray_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (2949,'_txid_snapshot',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2970,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (2950,'uuid',11,10,16,false,'b','U',false,true,',',0,'-',0,2951,'uuid_in','uuid_out','uuid_recv','uuid_send','-','-','-','c','p',false,0,-1,0,0),
    (2951,'_uuid',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2950,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (2970,'txid_snapshot',11,10,-1,false,'b','U',false,true,',',0,'-',0,2949,'txid_snapshot_in','txid_snapshot_out','txid_snapshot_recv','txid_snapshot_send','-','-','-','d','x',false,0,-1,0,0),
    (3115,'fdw_handler',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'fdw_handler_in','fdw_handler_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (3220,'pg_lsn',11,10,8,true,'b','U',false,true,',',0,'-',0,3221,'pg_lsn_in','pg_lsn_out','pg_lsn_recv','pg_lsn_send','-','-','-','d','p',false,0,-1,0,0),
    (3221,'_pg_lsn',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3220,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (3310,'tsm_handler',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'tsm_handler_in','tsm_handler_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (3361,'pg_ndistinct',11,10,-1,false,'b','Z',false,true,',',0,'-',0,0,'pg_ndistinct_in','pg_ndistinct_out','pg_ndistinct_recv','pg_ndistinct_send','-','-','-','i','x',false,0,-1,0,100),
    (3402,'pg_dependencies',11,10,-1,false,'b','Z',false,true,',',0,'-',0,0,'pg_dependencies_in','pg_dependencies_out','pg_dependencies_recv','pg_dependencies_send','-','-','-','i','x',false,0,-1,0,100),
    (3500,'anyenum',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'anyenum_in','anyenum_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (3614,'tsvector',11,10,-1,false,'b','U',false,true,',',0,'-',0,3643,'tsvectorin','tsvectorout','tsvectorrecv','tsvectorsend','-','-','ts_typanalyze','i','x',false,0,-1,0,0),
    (3615,'tsquery',11,10,-1,false,'b','U',false,true,',',0,'-',0,3645,'tsqueryin','tsqueryout','tsqueryrecv','tsquerysend','-','-','-','i','p',false,0,-1,0,0),
    (3642,'gtsvector',11,10,-1,false,'b','U',false,true,',',0,'-',0,3644,'gtsvectorin','gtsvectorout','-','-','-','-','-','i','p',false,0,-1,0,0),
    (3643,'_tsvector',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3614,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3644,'_gtsvector',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3642,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3645,'_tsquery',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3615,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3734,'regconfig',11,10,4,true,'b','N',false,true,',',0,'-',0,3735,'regconfigin','regconfigout','regconfigrecv','regconfigsend','-','-','-','i','p',false,0,-1,0,0),
    (3735,'_regconfig',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3734,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3769,'regdictionary',11,10,4,true,'b','N',false,true,',',0,'-',0,3770,'regdictionaryin','regdictionaryout','regdictionaryrecv','regdictionarysend','-','-','-','i','p',false,0,-1,0,0),
    (3770,'_regdictionary',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3769,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3802,'jsonb',11,10,-1,false,'b','U',false,true,',',0,'jsonb_subscript_handler',0,3807,'jsonb_in','jsonb_out','jsonb_recv','jsonb_send','-','-','-','i','x',false,0,-1,0,0),
    (3807,'_jsonb',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3802,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3831,'anyrange',11,10,-1,false,'p','P',false,true,',',0,'-',0,0,'anyrange_in','anyrange_out','-','-','-','-','-','d','x',false,0,-1,0,0),
    (3838,'event_trigger',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'event_trigger_in','event_trigger_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (3904,'int4range',11,10,-1,false,'r','R',false,true,',',0,'-',0,3905,'range_in','range_out','range_recv','range_send','-','-','range_typanalyze','i','x',false,0,-1,0,0),
    (3905,'_int4range',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3904,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3906,'numrange',11,10,-1,false,'r','R',false,true,',',0,'-',0,3907,'range_in','range_out','range_recv','range_send','-','-','range_typanalyze','i','x',false,0,-1,0,0),
    (3907,'_numrange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3906,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3908,'tsrange',11,10,-1,false,'r','R',false,true,',',0,'-',0,3909,'range_in','range_out','range_recv','range_send','-','-','range_typanalyze','d','x',false,0,-1,0,0),
    (3909,'_tsrange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3908,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (3910,'tstzrange',11,10,-1,false,'r','R',false,true,',',0,'-',0,3911,'range_in','range_out','range_recv','range_send','-','-','range_typanalyze','d','x',false,0,-1,0,0),
    (3911,'_tstzrange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3910,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (3912,'daterange',11,10,-1,false,'r','R',false,true,',',0,'-',0,3913,'range_in','range_out','range_recv','range_send','-','-','range_typanalyze','i','x',false,0,-1,0,0),
    (3913,'_daterange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3912,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (3926,'int8range',11,10,-1,false,'r','R',false,true,',',0,'-',0,3927,'range_in','range_out','range_recv','range_send','-','-','range_typanalyze','d','x',false,0,-1,0,0),
    (3927,'_int8range',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',3926,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (4072,'jsonpath',11,10,-1,false,'b','U',false,true,',',0,'-',0,4073,'jsonpath_in','jsonpath_out','jsonpath_recv','jsonpath_send','-','-','-','i','x',false,0,-1,0,0),
    (4073,'_jsonpath',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4072,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (4089,'regnamespace',11,10,4,true,'b','N',false,true,',',0,'-',0,4090,'regnamespacein','regnamespaceout','regnamespacerecv','regnamespacesend','-','-','-','i','p',false,0,-1,0,0),
    (4090,'_regnamespace',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4089,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (4096,'regrole',11,10,4,true,'b','N',false,true,',',0,'-',0,4097,'regrolein','regroleout','regrolerecv','regrolesend','-','-','-','i','p',false,0,-1,0,0),
    (4097,'_regrole',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4096,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (4191,'regcollation',11,10,4,true,'b','N',false,true,',',0,'-',0,4192,'regcollationin','regcollationout','regcollationrecv','regcollationsend','-','-','-','i','p',false,0,-1,0,0),
    (4192,'_regcollation',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4191,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (4451,'int4multirange',11,10,-1,false,'m','R',false,true,',',0,'-',0,6150,'multirange_in','multirange_out','multirange_recv','multirange_send','-','-','multirange_typanalyze','i','x',false,0,-1,0,0),
    (4532,'nummultirange',11,10,-1,false,'m','R',false,true,',',0,'-',0,6151,'multirange_in','multirange_out','multirange_recv','multirange_send','-','-','multirange_typanalyze','i','x',false,0,-1,0,0),
    (4533,'tsmultirange',11,10,-1,false,'m','R',false,true,',',0,'-',0,6152,'multirange_in','multirange_out','multirange_recv','multirange_send','-','-','multirange_typanalyze','d','x',false,0,-1,0,0),
    (4534,'tstzmultirange',11,10,-1,false,'m','R',false,true,',',0,'-',0,6153,'multirange_in','multirange_out','multirange_recv','multirange_send','-','-','multirange_typanalyze','d','x',false,0,-1,0,0),
    (4535,'datemultirange',11,10,-1,false,'m','R',false,true,',',0,'-',0,6155,'multirange_in','multirange_out','multirange_recv','multirange_send','-','-','multirange_typanalyze','i','x',false,0,-1,0,0),
    (4536,'int8multirange',11,10,-1,false,'m','R',false,true,',',0,'-',0,6157,'multirange_in','multirange_out','multirange_recv','multirange_send','-','-','multirange_typanalyze','d','x',false,0,-1,0,0),
    (4537,'anymultirange',11,10,-1,false,'p','P',false,true,',',0,'-',0,0,'anymultirange_in','anymultirange_out','-','-','-','-','-','d','x',false,0,-1,0,0),
    (4538,'anycompatiblemultirange',11,10,-1,false,'p','P',false,true,',',0,'-',0,0,'anycompatiblemultirange_in','anycompatiblemultirange_out','-','-','-','-','-','d','x',false,0,-1,0,0),
    (4600,'pg_brin_bloom_summary',11,10,-1,false,'b','Z',false,true,',',0,'-',0,0,'brin_bloom_summary_in','brin_bloom_summary_out','brin_bloom_summary_recv','brin_bloom_summary_send','-','-','-','i','x',false,0,-1,0,100),
    (4601,'pg_brin_minmax_multi_summary',11,10,-1,false,'b','Z',false,true,',',0,'-',0,0,'brin_minmax_multi_summary_in','brin_minmax_multi_summary_out','brin_minmax_multi_summary_recv','brin_minmax_multi_summary_send','-','-','-','i','x',false,0,-1,0,100),
    (5017,'pg_mcv_list',11,10,-1,false,'b','Z',false,true,',',0,'-',0,0,'pg_mcv_list_in','pg_mcv_list_out','pg_mcv_list_recv','pg_mcv_list_send','-','-','-','i','x',false,0,-1,0,100),
    (5038,'pg_snapshot',11,10,-1,false,'b','U',false,true,',',0,'-',0,5039,'pg_snapshot_in','pg_snapshot_out','pg_snapshot_recv','pg_snapshot_send','-','-','-','d','x',false,0,-1,0,0),
    (5039,'_pg_snapshot',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',5038,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (5069,'xid8',11,10,8,true,'b','U',false,true,',',0,'-',0,271,'xid8in','xid8out','xid8recv','xid8send','-','-','-','d','p',false,0,-1,0,0),
    (5077,'anycompatible',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'anycompatible_in','anycompatible_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (5078,'anycompatiblearray',11,10,-1,false,'p','P',false,true,',',0,'-',0,0,'anycompatiblearray_in','anycompatiblearray_out','anycompatiblearray_recv','anycompatiblearray_send','-','-','-','d','x',false,0,-1,0,0),
    (5079,'anycompatiblenonarray',11,10,4,true,'p','P',false,true,',',0,'-',0,0,'anycompatiblenonarray_in','anycompatiblenonarray_out','-','-','-','-','-','i','p',false,0,-1,0,0),
    (5080,'anycompatiblerange',11,10,-1,false,'p','P',false,true,',',0,'-',0,0,'anycompatiblerange_in','anycompatiblerange_out','-','-','-','-','-','d','x',false,0,-1,0,0),
    (6150,'_int4multirange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4451,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (6151,'_nummultirange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4532,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (6152,'_tsmultirange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4533,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (6153,'_tstzmultirange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4534,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (6155,'_datemultirange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4535,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','i','x',false,0,-1,0,0),
    (6157,'_int8multirange',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4536,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10000,'_pg_attrdef',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10001,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10002,'_pg_constraint',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10003,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10004,'_pg_inherits',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10005,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10006,'_pg_index',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10007,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10008,'_pg_operator',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10009,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10010,'_pg_opfamily',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10011,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10012,'_pg_opclass',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10013,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10014,'_pg_am',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10015,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10016,'_pg_amop',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10017,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10018,'_pg_amproc',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10019,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10020,'_pg_language',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10021,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10022,'_pg_largeobject_metadata',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10023,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10024,'_pg_largeobject',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10025,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10026,'_pg_aggregate',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10027,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10028,'_pg_statistic',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10029,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10030,'_pg_statistic_ext',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10031,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10032,'_pg_statistic_ext_data',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10033,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10034,'_pg_rewrite',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10035,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10036,'_pg_trigger',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10037,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10038,'_pg_event_trigger',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10039,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10040,'_pg_description',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10041,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10042,'_pg_cast',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10043,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10044,'_pg_enum',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10045,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10046,'_pg_namespace',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10047,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10048,'_pg_conversion',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10049,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10050,'_pg_depend',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10051,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10052,'_pg_database',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',1248,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10053,'_pg_db_role_setting',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10054,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10055,'_pg_tablespace',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10056,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10057,'_pg_authid',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2842,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10058,'_pg_auth_members',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',2843,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10059,'_pg_shdepend',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10060,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10061,'_pg_shdescription',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10062,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10063,'_pg_ts_config',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10064,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10065,'_pg_ts_config_map',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10066,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10067,'_pg_ts_dict',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10068,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10069,'_pg_ts_parser',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10070,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10071,'_pg_ts_template',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10072,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10073,'_pg_extension',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10074,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10075,'_pg_foreign_data_wrapper',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10076,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10077,'_pg_foreign_server',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10078,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10079,'_pg_user_mapping',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10080,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10081,'_pg_foreign_table',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10082,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10083,'_pg_policy',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10084,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10085,'_pg_replication_origin',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10086,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10087,'_pg_default_acl',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10088,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10089,'_pg_init_privs',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10090,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10091,'_pg_seclabel',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10092,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10093,'_pg_shseclabel',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',4066,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10094,'_pg_collation',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10095,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10096,'_pg_parameter_acl',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10097,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10098,'_pg_partitioned_table',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10099,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10100,'_pg_range',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10101,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10102,'_pg_transform',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10103,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10104,'_pg_sequence',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10105,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10106,'_pg_publication',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10107,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10108,'_pg_publication_namespace',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10109,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10110,'_pg_publication_rel',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10111,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10112,'_pg_subscription',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',6101,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (10113,'_pg_subscription_rel',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',10114,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12001,'_pg_roles',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12002,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12006,'_pg_shadow',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12007,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12011,'_pg_group',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12012,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12015,'_pg_user',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12016,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12019,'_pg_policies',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12020,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12024,'_pg_rules',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12025,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12029,'_pg_views',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12030,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12034,'_pg_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12035,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12039,'_pg_matviews',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12040,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12044,'_pg_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12045,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12049,'_pg_sequences',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12050,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12054,'_pg_stats',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12055,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12059,'_pg_stats_ext',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12060,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12064,'_pg_stats_ext_exprs',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12065,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12069,'_pg_publication_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12070,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12074,'_pg_locks',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12075,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12078,'_pg_cursors',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12079,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12082,'_pg_available_extensions',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12083,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12086,'_pg_available_extension_versions',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12087,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12091,'_pg_prepared_xacts',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12092,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12096,'_pg_prepared_statements',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12097,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12100,'_pg_seclabels',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12101,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12105,'_pg_settings',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12106,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12111,'_pg_file_settings',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12112,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12115,'_pg_hba_file_rules',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12116,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12119,'_pg_ident_file_mappings',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12120,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12123,'_pg_timezone_abbrevs',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12124,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12127,'_pg_timezone_names',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12128,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12131,'_pg_config',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12132,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12135,'_pg_shmem_allocations',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12136,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12139,'_pg_backend_memory_contexts',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12140,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12143,'_pg_stat_all_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12144,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12148,'_pg_stat_xact_all_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12149,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12153,'_pg_stat_sys_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12154,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12158,'_pg_stat_xact_sys_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12159,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12162,'_pg_stat_user_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12163,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12167,'_pg_stat_xact_user_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12168,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12171,'_pg_statio_all_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12172,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12176,'_pg_statio_sys_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12177,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12180,'_pg_statio_user_tables',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12181,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12184,'_pg_stat_all_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12185,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12189,'_pg_stat_sys_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12190,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12193,'_pg_stat_user_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12194,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12197,'_pg_statio_all_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12198,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12202,'_pg_statio_sys_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12203,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12206,'_pg_statio_user_indexes',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12207,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12210,'_pg_statio_all_sequences',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12211,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12215,'_pg_statio_sys_sequences',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12216,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12219,'_pg_statio_user_sequences',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12220,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12223,'_pg_stat_activity',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12224,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12228,'_pg_stat_replication',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12229,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12233,'_pg_stat_slru',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12234,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12237,'_pg_stat_wal_receiver',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12238,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12241,'_pg_stat_recovery_prefetch',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12242,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12245,'_pg_stat_subscription',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12246,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12250,'_pg_stat_ssl',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12251,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12254,'_pg_stat_gssapi',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12255,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12258,'_pg_replication_slots',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12259,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12263,'_pg_stat_replication_slots',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12264,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12267,'_pg_stat_database',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12268,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12272,'_pg_stat_database_conflicts',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12273,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12276,'_pg_stat_user_functions',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12277,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12281,'_pg_stat_xact_user_functions',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12282,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12286,'_pg_stat_archiver',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12287,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12290,'_pg_stat_bgwriter',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12291,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12294,'_pg_stat_wal',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12295,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12298,'_pg_stat_progress_analyze',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12299,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12303,'_pg_stat_progress_vacuum',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12304,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12308,'_pg_stat_progress_cluster',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12309,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12313,'_pg_stat_progress_create_index',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12314,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12318,'_pg_stat_progress_basebackup',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12319,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12323,'_pg_stat_progress_copy',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12324,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12328,'_pg_user_mappings',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12329,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12333,'_pg_replication_origin_status',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12334,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0),
    (12337,'_pg_stat_subscription_stats',11,10,-1,false,'b','A',false,true,',',0,'array_subscript_handler',12338,0,'array_in','array_out','array_recv','array_send','-','-','array_typanalyze','d','x',false,0,-1,0,0)
;

-- format_type() names that differ from typname.
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_type_display (oid UINTEGER, display VARCHAR);
INSERT INTO duckraft_pg.main.duckraft_type_display VALUES
    (16, 'boolean'), (18, '"char"'), (20, 'bigint'), (21, 'smallint'), (23, 'integer'), (700, 'real'),
    (701, 'double precision'), (1042, 'character'), (1043, 'character varying'), (1083, 'time without time zone'),
    (1114, 'timestamp without time zone'), (1184, 'timestamp with time zone'), (1266, 'time with time zone'),
    (1562, 'bit varying');

-- OIDs of PostgreSQL's own catalog relations (pg_class = 1259, ...).
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_catalog_oids (relname VARCHAR, oid UINTEGER, relkind VARCHAR);
INSERT INTO duckraft_pg.main.duckraft_catalog_oids VALUES
    ('pg_default_acl',826,'r'),
    ('pg_tablespace',1213,'r'),
    ('pg_shdepend',1214,'r'),
    ('pg_type',1247,'r'),
    ('pg_attribute',1249,'r'),
    ('pg_proc',1255,'r'),
    ('pg_class',1259,'r'),
    ('pg_authid',1260,'r'),
    ('pg_auth_members',1261,'r'),
    ('pg_database',1262,'r'),
    ('pg_foreign_server',1417,'r'),
    ('pg_user_mapping',1418,'r'),
    ('pg_sequence',2224,'r'),
    ('pg_foreign_data_wrapper',2328,'r'),
    ('pg_shdescription',2396,'r'),
    ('pg_aggregate',2600,'r'),
    ('pg_am',2601,'r'),
    ('pg_amop',2602,'r'),
    ('pg_amproc',2603,'r'),
    ('pg_attrdef',2604,'r'),
    ('pg_cast',2605,'r'),
    ('pg_constraint',2606,'r'),
    ('pg_conversion',2607,'r'),
    ('pg_depend',2608,'r'),
    ('pg_description',2609,'r'),
    ('pg_index',2610,'r'),
    ('pg_inherits',2611,'r'),
    ('pg_language',2612,'r'),
    ('pg_largeobject',2613,'r'),
    ('pg_namespace',2615,'r'),
    ('pg_opclass',2616,'r'),
    ('pg_operator',2617,'r'),
    ('pg_rewrite',2618,'r'),
    ('pg_statistic',2619,'r'),
    ('pg_trigger',2620,'r'),
    ('pg_opfamily',2753,'r'),
    ('pg_db_role_setting',2964,'r'),
    ('pg_largeobject_metadata',2995,'r'),
    ('pg_extension',3079,'r'),
    ('pg_foreign_table',3118,'r'),
    ('pg_policy',3256,'r'),
    ('pg_partitioned_table',3350,'r'),
    ('pg_statistic_ext',3381,'r'),
    ('pg_init_privs',3394,'r'),
    ('pg_statistic_ext_data',3429,'r'),
    ('pg_collation',3456,'r'),
    ('pg_event_trigger',3466,'r'),
    ('pg_enum',3501,'r'),
    ('pg_range',3541,'r'),
    ('pg_transform',3576,'r'),
    ('pg_shseclabel',3592,'r'),
    ('pg_seclabel',3596,'r'),
    ('pg_ts_dict',3600,'r'),
    ('pg_ts_parser',3601,'r'),
    ('pg_ts_config',3602,'r'),
    ('pg_ts_config_map',3603,'r'),
    ('pg_ts_template',3764,'r'),
    ('pg_replication_origin',6000,'r'),
    ('pg_subscription',6100,'r'),
    ('pg_subscription_rel',6102,'r'),
    ('pg_publication',6104,'r'),
    ('pg_publication_rel',6106,'r'),
    ('pg_publication_namespace',6237,'r'),
    ('pg_parameter_acl',6243,'r'),
    ('pg_roles',12000,'v'),
    ('pg_shadow',12005,'v'),
    ('pg_group',12010,'v'),
    ('pg_user',12014,'v'),
    ('pg_policies',12018,'v'),
    ('pg_rules',12023,'v'),
    ('pg_views',12028,'v'),
    ('pg_tables',12033,'v'),
    ('pg_matviews',12038,'v'),
    ('pg_indexes',12043,'v'),
    ('pg_sequences',12048,'v'),
    ('pg_stats',12053,'v'),
    ('pg_stats_ext',12058,'v'),
    ('pg_stats_ext_exprs',12063,'v'),
    ('pg_publication_tables',12068,'v'),
    ('pg_locks',12073,'v'),
    ('pg_cursors',12077,'v'),
    ('pg_available_extensions',12081,'v'),
    ('pg_available_extension_versions',12085,'v'),
    ('pg_prepared_xacts',12090,'v'),
    ('pg_prepared_statements',12095,'v'),
    ('pg_seclabels',12099,'v'),
    ('pg_settings',12104,'v'),
    ('pg_file_settings',12110,'v'),
    ('pg_hba_file_rules',12114,'v'),
    ('pg_ident_file_mappings',12118,'v'),
    ('pg_timezone_abbrevs',12122,'v'),
    ('pg_timezone_names',12126,'v'),
    ('pg_config',12130,'v'),
    ('pg_shmem_allocations',12134,'v'),
    ('pg_backend_memory_contexts',12138,'v'),
    ('pg_stat_all_tables',12142,'v'),
    ('pg_stat_xact_all_tables',12147,'v'),
    ('pg_stat_sys_tables',12152,'v'),
    ('pg_stat_xact_sys_tables',12157,'v'),
    ('pg_stat_user_tables',12161,'v'),
    ('pg_stat_xact_user_tables',12166,'v'),
    ('pg_statio_all_tables',12170,'v'),
    ('pg_statio_sys_tables',12175,'v'),
    ('pg_statio_user_tables',12179,'v'),
    ('pg_stat_all_indexes',12183,'v'),
    ('pg_stat_sys_indexes',12188,'v'),
    ('pg_stat_user_indexes',12192,'v'),
    ('pg_statio_all_indexes',12196,'v'),
    ('pg_statio_sys_indexes',12201,'v'),
    ('pg_statio_user_indexes',12205,'v'),
    ('pg_statio_all_sequences',12209,'v'),
    ('pg_statio_sys_sequences',12214,'v'),
    ('pg_statio_user_sequences',12218,'v'),
    ('pg_stat_activity',12222,'v'),
    ('pg_stat_replication',12227,'v'),
    ('pg_stat_slru',12232,'v'),
    ('pg_stat_wal_receiver',12236,'v'),
    ('pg_stat_recovery_prefetch',12240,'v'),
    ('pg_stat_subscription',12244,'v'),
    ('pg_stat_ssl',12249,'v'),
    ('pg_stat_gssapi',12253,'v'),
    ('pg_replication_slots',12257,'v'),
    ('pg_stat_replication_slots',12262,'v'),
    ('pg_stat_database',12266,'v'),
    ('pg_stat_database_conflicts',12271,'v'),
    ('pg_stat_user_functions',12275,'v'),
    ('pg_stat_xact_user_functions',12280,'v'),
    ('pg_stat_archiver',12285,'v'),
    ('pg_stat_bgwriter',12289,'v'),
    ('pg_stat_wal',12293,'v'),
    ('pg_stat_progress_analyze',12297,'v'),
    ('pg_stat_progress_vacuum',12302,'v'),
    ('pg_stat_progress_cluster',12307,'v'),
    ('pg_stat_progress_create_index',12312,'v'),
    ('pg_stat_progress_basebackup',12317,'v'),
    ('pg_stat_progress_copy',12322,'v'),
    ('pg_user_mappings',12327,'v'),
    ('pg_replication_origin_status',12332,'v'),
    ('pg_stat_subscription_stats',12336,'v')
;

-- pg_settings defaults (PostgreSQL 15 list; instance-specific values neutralised; server_version 15.0).
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_settings_base (
    name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR, context VARCHAR,
    vartype VARCHAR, min_val VARCHAR, max_val VARCHAR, boot_val VARCHAR, enumvals VARCHAR);
INSERT INTO duckraft_pg.main.duckraft_settings_base VALUES
    ('DateStyle','ISO, MDY',NULL,'Client Connection Defaults / Locale and Formatting','Sets the display format for date and time values.','user','string',NULL,NULL,'ISO, MDY',NULL),
    ('IntervalStyle','postgres',NULL,'Client Connection Defaults / Locale and Formatting','Sets the display format for interval values.','user','enum',NULL,NULL,'postgres','{postgres,postgres_verbose,sql_standard,iso_8601}'),
    ('TimeZone','UTC',NULL,'Client Connection Defaults / Locale and Formatting','Sets the time zone for displaying and interpreting time stamps.','user','string',NULL,NULL,'GMT',NULL),
    ('allow_in_place_tablespaces','off',NULL,'Developer Options','Allows tablespaces directly inside pg_tblspc, for testing.','superuser','bool',NULL,NULL,'off',NULL),
    ('allow_system_table_mods','off',NULL,'Developer Options','Allows modifications of the structure of system tables.','superuser','bool',NULL,NULL,'off',NULL),
    ('application_name','',NULL,'Reporting and Logging / What to Log','Sets the application name to be reported in statistics and logs.','user','string',NULL,NULL,'',NULL),
    ('archive_cleanup_command','',NULL,'Write-Ahead Log / Archive Recovery','Sets the shell command that will be executed at every restart point.','sighup','string',NULL,NULL,'',NULL),
    ('archive_command','(disabled)',NULL,'Write-Ahead Log / Archiving','Sets the shell command that will be called to archive a WAL file.','sighup','string',NULL,NULL,'',NULL),
    ('archive_library','',NULL,'Write-Ahead Log / Archiving','Sets the library that will be called to archive a WAL file.','sighup','string',NULL,NULL,'',NULL),
    ('archive_mode','off',NULL,'Write-Ahead Log / Archiving','Allows archiving of WAL files using archive_command.','postmaster','enum',NULL,NULL,'off','{always,on,off}'),
    ('archive_timeout','0','s','Write-Ahead Log / Archiving','Sets the amount of time to wait before forcing a switch to the next WAL file.','sighup','integer','0','1073741823','0',NULL),
    ('array_nulls','on',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions','Enable input of NULL elements in arrays.','user','bool',NULL,NULL,'on',NULL),
    ('authentication_timeout','60','s','Connections and Authentication / Authentication','Sets the maximum allowed time to complete client authentication.','sighup','integer','1','600','60',NULL),
    ('autovacuum','on',NULL,'Autovacuum','Starts the autovacuum subprocess.','sighup','bool',NULL,NULL,'on',NULL),
    ('autovacuum_analyze_scale_factor','0.1',NULL,'Autovacuum','Number of tuple inserts, updates, or deletes prior to analyze as a fraction of reltuples.','sighup','real','0','100','0.1',NULL),
    ('autovacuum_analyze_threshold','50',NULL,'Autovacuum','Minimum number of tuple inserts, updates, or deletes prior to analyze.','sighup','integer','0','2147483647','50',NULL),
    ('autovacuum_freeze_max_age','200000000',NULL,'Autovacuum','Age at which to autovacuum a table to prevent transaction ID wraparound.','postmaster','integer','100000','2000000000','200000000',NULL),
    ('autovacuum_max_workers','3',NULL,'Autovacuum','Sets the maximum number of simultaneously running autovacuum worker processes.','postmaster','integer','1','262143','3',NULL),
    ('autovacuum_multixact_freeze_max_age','400000000',NULL,'Autovacuum','Multixact age at which to autovacuum a table to prevent multixact wraparound.','postmaster','integer','10000','2000000000','400000000',NULL),
    ('autovacuum_naptime','60','s','Autovacuum','Time to sleep between autovacuum runs.','sighup','integer','1','2147483','60',NULL),
    ('autovacuum_vacuum_cost_delay','2','ms','Autovacuum','Vacuum cost delay in milliseconds, for autovacuum.','sighup','real','-1','100','2',NULL),
    ('autovacuum_vacuum_cost_limit','-1',NULL,'Autovacuum','Vacuum cost amount available before napping, for autovacuum.','sighup','integer','-1','10000','-1',NULL),
    ('autovacuum_vacuum_insert_scale_factor','0.2',NULL,'Autovacuum','Number of tuple inserts prior to vacuum as a fraction of reltuples.','sighup','real','0','100','0.2',NULL),
    ('autovacuum_vacuum_insert_threshold','1000',NULL,'Autovacuum','Minimum number of tuple inserts prior to vacuum, or -1 to disable insert vacuums.','sighup','integer','-1','2147483647','1000',NULL),
    ('autovacuum_vacuum_scale_factor','0.2',NULL,'Autovacuum','Number of tuple updates or deletes prior to vacuum as a fraction of reltuples.','sighup','real','0','100','0.2',NULL),
    ('autovacuum_vacuum_threshold','50',NULL,'Autovacuum','Minimum number of tuple updates or deletes prior to vacuum.','sighup','integer','0','2147483647','50',NULL),
    ('autovacuum_work_mem','-1','kB','Resource Usage / Memory','Sets the maximum memory to be used by each autovacuum worker process.','sighup','integer','-1','2147483647','-1',NULL),
    ('backend_flush_after','0','8kB','Resource Usage / Asynchronous Behavior','Number of pages after which previously performed writes are flushed to disk.','user','integer','0','256','0',NULL),
    ('backslash_quote','safe_encoding',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions',E'Sets whether "\\''" is allowed in string literals.','user','enum',NULL,NULL,'safe_encoding','{safe_encoding,on,off}'),
    ('backtrace_functions','',NULL,'Developer Options','Log backtrace for errors in these functions.','superuser','string',NULL,NULL,'',NULL),
    ('bgwriter_delay','200','ms','Resource Usage / Background Writer','Background writer sleep time between rounds.','sighup','integer','10','10000','200',NULL),
    ('bgwriter_flush_after','64','8kB','Resource Usage / Background Writer','Number of pages after which previously performed writes are flushed to disk.','sighup','integer','0','256','64',NULL),
    ('bgwriter_lru_maxpages','100',NULL,'Resource Usage / Background Writer','Background writer maximum number of LRU pages to flush per round.','sighup','integer','0','1073741823','100',NULL),
    ('bgwriter_lru_multiplier','2',NULL,'Resource Usage / Background Writer','Multiple of the average buffer usage to free per round.','sighup','real','0','10','2',NULL),
    ('block_size','8192',NULL,'Preset Options','Shows the size of a disk block.','internal','integer','8192','8192','8192',NULL),
    ('bonjour','off',NULL,'Connections and Authentication / Connection Settings','Enables advertising the server via Bonjour.','postmaster','bool',NULL,NULL,'off',NULL),
    ('bonjour_name','',NULL,'Connections and Authentication / Connection Settings','Sets the Bonjour service name.','postmaster','string',NULL,NULL,'',NULL),
    ('bytea_output','hex',NULL,'Client Connection Defaults / Statement Behavior','Sets the output format for bytea.','user','enum',NULL,NULL,'hex','{escape,hex}'),
    ('check_function_bodies','on',NULL,'Client Connection Defaults / Statement Behavior','Check routine bodies during CREATE FUNCTION and CREATE PROCEDURE.','user','bool',NULL,NULL,'on',NULL),
    ('checkpoint_completion_target','0.9',NULL,'Write-Ahead Log / Checkpoints','Time spent flushing dirty buffers during checkpoint, as fraction of checkpoint interval.','sighup','real','0','1','0.9',NULL),
    ('checkpoint_flush_after','32','8kB','Write-Ahead Log / Checkpoints','Number of pages after which previously performed writes are flushed to disk.','sighup','integer','0','256','32',NULL),
    ('checkpoint_timeout','300','s','Write-Ahead Log / Checkpoints','Sets the maximum time between automatic WAL checkpoints.','sighup','integer','30','86400','300',NULL),
    ('checkpoint_warning','30','s','Write-Ahead Log / Checkpoints','Sets the maximum time before warning if checkpoints triggered by WAL volume happen too frequently.','sighup','integer','0','2147483647','30',NULL),
    ('client_connection_check_interval','0','ms','Connections and Authentication / Connection Settings','Sets the time interval between checks for disconnection while running queries.','user','integer','0','2147483647','0',NULL),
    ('client_encoding','UTF8',NULL,'Client Connection Defaults / Locale and Formatting','Sets the client''s character set encoding.','user','string',NULL,NULL,'SQL_ASCII',NULL),
    ('client_min_messages','notice',NULL,'Client Connection Defaults / Statement Behavior','Sets the message levels that are sent to the client.','user','enum',NULL,NULL,'notice','{debug5,debug4,debug3,debug2,debug1,log,notice,warning,error}'),
    ('cluster_name','',NULL,'Reporting and Logging / Process Title','Sets the name of the cluster, which is included in the process title.','postmaster','string',NULL,NULL,'',NULL),
    ('commit_delay','0',NULL,'Write-Ahead Log / Settings','Sets the delay in microseconds between transaction commit and flushing WAL to disk.','superuser','integer','0','100000','0',NULL),
    ('commit_siblings','5',NULL,'Write-Ahead Log / Settings','Sets the minimum number of concurrent open transactions required before performing commit_delay.','user','integer','0','1000','5',NULL),
    ('compute_query_id','auto',NULL,'Statistics / Monitoring','Enables in-core computation of query identifiers.','superuser','enum',NULL,NULL,'auto','{auto,regress,on,off}'),
    ('config_file','',NULL,'File Locations','Sets the server''s main configuration file.','postmaster','string',NULL,NULL,NULL,NULL),
    ('constraint_exclusion','partition',NULL,'Query Tuning / Other Planner Options','Enables the planner to use constraints to optimize queries.','user','enum',NULL,NULL,'partition','{partition,on,off}'),
    ('cpu_index_tuple_cost','0.005',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of processing each index entry during an index scan.','user','real','0','1.79769e+308','0.005',NULL),
    ('cpu_operator_cost','0.0025',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of processing each operator or function call.','user','real','0','1.79769e+308','0.0025',NULL),
    ('cpu_tuple_cost','0.01',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of processing each tuple (row).','user','real','0','1.79769e+308','0.01',NULL),
    ('cursor_tuple_fraction','0.1',NULL,'Query Tuning / Other Planner Options','Sets the planner''s estimate of the fraction of a cursor''s rows that will be retrieved.','user','real','0','1','0.1',NULL),
    ('data_checksums','off',NULL,'Preset Options','Shows whether data checksums are turned on for this cluster.','internal','bool',NULL,NULL,'off',NULL),
    ('data_directory','',NULL,'File Locations','Sets the server''s data directory.','postmaster','string',NULL,NULL,NULL,NULL),
    ('data_directory_mode','0700',NULL,'Preset Options','Shows the mode of the data directory.','internal','integer','0','511','448',NULL),
    ('data_sync_retry','off',NULL,'Error Handling','Whether to continue running after a failure to sync data files.','postmaster','bool',NULL,NULL,'off',NULL),
    ('db_user_namespace','off',NULL,'Connections and Authentication / Authentication','Enables per-database user names.','sighup','bool',NULL,NULL,'off',NULL),
    ('deadlock_timeout','1000','ms','Lock Management','Sets the time to wait on a lock before checking for deadlock.','superuser','integer','1','2147483647','1000',NULL),
    ('debug_assertions','off',NULL,'Preset Options','Shows whether the running server has assertion checks enabled.','internal','bool',NULL,NULL,'off',NULL),
    ('debug_discard_caches','0',NULL,'Developer Options','Aggressively flush system caches for debugging purposes.','superuser','integer','0','0','0',NULL),
    ('debug_pretty_print','on',NULL,'Reporting and Logging / What to Log','Indents parse and plan tree displays.','user','bool',NULL,NULL,'on',NULL),
    ('debug_print_parse','off',NULL,'Reporting and Logging / What to Log','Logs each query''s parse tree.','user','bool',NULL,NULL,'off',NULL),
    ('debug_print_plan','off',NULL,'Reporting and Logging / What to Log','Logs each query''s execution plan.','user','bool',NULL,NULL,'off',NULL),
    ('debug_print_rewritten','off',NULL,'Reporting and Logging / What to Log','Logs each query''s rewritten parse tree.','user','bool',NULL,NULL,'off',NULL),
    ('default_statistics_target','100',NULL,'Query Tuning / Other Planner Options','Sets the default statistics target.','user','integer','1','10000','100',NULL),
    ('default_table_access_method','heap',NULL,'Client Connection Defaults / Statement Behavior','Sets the default table access method for new tables.','user','string',NULL,NULL,'heap',NULL),
    ('default_tablespace','',NULL,'Client Connection Defaults / Statement Behavior','Sets the default tablespace to create tables and indexes in.','user','string',NULL,NULL,'',NULL),
    ('default_text_search_config','pg_catalog.english',NULL,'Client Connection Defaults / Locale and Formatting','Sets default text search configuration.','user','string',NULL,NULL,'pg_catalog.simple',NULL),
    ('default_toast_compression','pglz',NULL,'Client Connection Defaults / Statement Behavior','Sets the default compression method for compressible values.','user','enum',NULL,NULL,'pglz','{pglz,lz4}'),
    ('default_transaction_deferrable','off',NULL,'Client Connection Defaults / Statement Behavior','Sets the default deferrable status of new transactions.','user','bool',NULL,NULL,'off',NULL),
    ('default_transaction_isolation','read committed',NULL,'Client Connection Defaults / Statement Behavior','Sets the transaction isolation level of each new transaction.','user','enum',NULL,NULL,'read committed','{serializable,"repeatable read","read committed","read uncommitted"}'),
    ('default_transaction_read_only','off',NULL,'Client Connection Defaults / Statement Behavior','Sets the default read-only status of new transactions.','user','bool',NULL,NULL,'off',NULL),
    ('dynamic_library_path','$libdir',NULL,'Client Connection Defaults / Other Defaults','Sets the path for dynamically loadable modules.','superuser','string',NULL,NULL,'$libdir',NULL),
    ('dynamic_shared_memory_type','posix',NULL,'Resource Usage / Memory','Selects the dynamic shared memory implementation used.','postmaster','enum',NULL,NULL,'posix','{posix,sysv,mmap}'),
    ('effective_cache_size','524288','8kB','Query Tuning / Planner Cost Constants','Sets the planner''s assumption about the total size of the data caches.','user','integer','1','2147483647','524288',NULL),
    ('effective_io_concurrency','1',NULL,'Resource Usage / Asynchronous Behavior','Number of simultaneous requests that can be handled efficiently by the disk subsystem.','user','integer','0','1000','1',NULL),
    ('enable_async_append','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of async append plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_bitmapscan','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of bitmap-scan plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_gathermerge','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of gather merge plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_hashagg','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of hashed aggregation plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_hashjoin','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of hash join plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_incremental_sort','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of incremental sort steps.','user','bool',NULL,NULL,'on',NULL),
    ('enable_indexonlyscan','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of index-only-scan plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_indexscan','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of index-scan plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_material','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of materialization.','user','bool',NULL,NULL,'on',NULL),
    ('enable_memoize','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of memoization.','user','bool',NULL,NULL,'on',NULL),
    ('enable_mergejoin','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of merge join plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_nestloop','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of nested-loop join plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_parallel_append','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of parallel append plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_parallel_hash','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of parallel hash plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_partition_pruning','on',NULL,'Query Tuning / Planner Method Configuration','Enables plan-time and execution-time partition pruning.','user','bool',NULL,NULL,'on',NULL),
    ('enable_partitionwise_aggregate','off',NULL,'Query Tuning / Planner Method Configuration','Enables partitionwise aggregation and grouping.','user','bool',NULL,NULL,'off',NULL),
    ('enable_partitionwise_join','off',NULL,'Query Tuning / Planner Method Configuration','Enables partitionwise join.','user','bool',NULL,NULL,'off',NULL),
    ('enable_seqscan','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of sequential-scan plans.','user','bool',NULL,NULL,'on',NULL),
    ('enable_sort','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of explicit sort steps.','user','bool',NULL,NULL,'on',NULL),
    ('enable_tidscan','on',NULL,'Query Tuning / Planner Method Configuration','Enables the planner''s use of TID scan plans.','user','bool',NULL,NULL,'on',NULL),
    ('escape_string_warning','on',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions','Warn about backslash escapes in ordinary string literals.','user','bool',NULL,NULL,'on',NULL),
    ('event_source','PostgreSQL',NULL,'Reporting and Logging / Where to Log','Sets the application name used to identify PostgreSQL messages in the event log.','postmaster','string',NULL,NULL,'PostgreSQL',NULL),
    ('exit_on_error','off',NULL,'Error Handling','Terminate session on any error.','user','bool',NULL,NULL,'off',NULL),
    ('extension_destdir','',NULL,'File Locations','Path to prepend for extension loading.','superuser','string',NULL,NULL,'',NULL),
    ('external_pid_file','',NULL,'File Locations','Writes the postmaster PID to the specified file.','postmaster','string',NULL,NULL,NULL,NULL),
    ('extra_float_digits','1',NULL,'Client Connection Defaults / Locale and Formatting','Sets the number of digits displayed for floating-point values.','user','integer','-15','3','1',NULL),
    ('force_parallel_mode','off',NULL,'Developer Options','Forces use of parallel query facilities.','user','enum',NULL,NULL,'off','{off,on,regress}'),
    ('from_collapse_limit','8',NULL,'Query Tuning / Other Planner Options','Sets the FROM-list size beyond which subqueries are not collapsed.','user','integer','1','2147483647','8',NULL),
    ('fsync','on',NULL,'Write-Ahead Log / Settings','Forces synchronization of updates to disk.','sighup','bool',NULL,NULL,'on',NULL),
    ('full_page_writes','on',NULL,'Write-Ahead Log / Settings','Writes full pages to WAL when first modified after a checkpoint.','sighup','bool',NULL,NULL,'on',NULL),
    ('geqo','on',NULL,'Query Tuning / Genetic Query Optimizer','Enables genetic query optimization.','user','bool',NULL,NULL,'on',NULL),
    ('geqo_effort','5',NULL,'Query Tuning / Genetic Query Optimizer','GEQO: effort is used to set the default for other GEQO parameters.','user','integer','1','10','5',NULL),
    ('geqo_generations','0',NULL,'Query Tuning / Genetic Query Optimizer','GEQO: number of iterations of the algorithm.','user','integer','0','2147483647','0',NULL),
    ('geqo_pool_size','0',NULL,'Query Tuning / Genetic Query Optimizer','GEQO: number of individuals in the population.','user','integer','0','2147483647','0',NULL),
    ('geqo_seed','0',NULL,'Query Tuning / Genetic Query Optimizer','GEQO: seed for random path selection.','user','real','0','1','0',NULL),
    ('geqo_selection_bias','2',NULL,'Query Tuning / Genetic Query Optimizer','GEQO: selective pressure within the population.','user','real','1.5','2','2',NULL),
    ('geqo_threshold','12',NULL,'Query Tuning / Genetic Query Optimizer','Sets the threshold of FROM items beyond which GEQO is used.','user','integer','2','2147483647','12',NULL),
    ('gin_fuzzy_search_limit','0',NULL,'Client Connection Defaults / Other Defaults','Sets the maximum allowed result for exact search by GIN.','user','integer','0','2147483647','0',NULL),
    ('gin_pending_list_limit','4096','kB','Client Connection Defaults / Statement Behavior','Sets the maximum size of the pending list for GIN index.','user','integer','64','2147483647','4096',NULL),
    ('hash_mem_multiplier','2',NULL,'Resource Usage / Memory','Multiple of work_mem to use for hash tables.','user','real','1','1000','2',NULL),
    ('hba_file','',NULL,'File Locations','Sets the server''s "hba" configuration file.','postmaster','string',NULL,NULL,NULL,NULL),
    ('hot_standby','on',NULL,'Replication / Standby Servers','Allows connections and queries during recovery.','postmaster','bool',NULL,NULL,'on',NULL),
    ('hot_standby_feedback','off',NULL,'Replication / Standby Servers','Allows feedback from a hot standby to the primary that will avoid query conflicts.','sighup','bool',NULL,NULL,'off',NULL),
    ('huge_page_size','0','kB','Resource Usage / Memory','The size of huge page that should be requested.','postmaster','integer','0','2147483647','0',NULL),
    ('huge_pages','try',NULL,'Resource Usage / Memory','Use of huge pages on Linux or Windows.','postmaster','enum',NULL,NULL,'try','{off,on,try}'),
    ('ident_file','',NULL,'File Locations','Sets the server''s "ident" configuration file.','postmaster','string',NULL,NULL,NULL,NULL),
    ('idle_in_transaction_session_timeout','0','ms','Client Connection Defaults / Statement Behavior','Sets the maximum allowed idle time between queries, when in a transaction.','user','integer','0','2147483647','0',NULL),
    ('idle_session_timeout','0','ms','Client Connection Defaults / Statement Behavior','Sets the maximum allowed idle time between queries, when not in a transaction.','user','integer','0','2147483647','0',NULL),
    ('ignore_checksum_failure','off',NULL,'Developer Options','Continues processing after a checksum failure.','superuser','bool',NULL,NULL,'off',NULL),
    ('ignore_invalid_pages','off',NULL,'Developer Options','Continues recovery after an invalid pages failure.','postmaster','bool',NULL,NULL,'off',NULL),
    ('ignore_system_indexes','off',NULL,'Developer Options','Disables reading from system indexes.','backend','bool',NULL,NULL,'off',NULL),
    ('in_hot_standby','off',NULL,'Preset Options','Shows whether hot standby is currently active.','internal','bool',NULL,NULL,'off',NULL),
    ('integer_datetimes','on',NULL,'Preset Options','Shows whether datetimes are integer based.','internal','bool',NULL,NULL,'on',NULL),
    ('jit','on',NULL,'Query Tuning / Other Planner Options','Allow JIT compilation.','user','bool',NULL,NULL,'on',NULL),
    ('jit_above_cost','100000',NULL,'Query Tuning / Planner Cost Constants','Perform JIT compilation if query is more expensive.','user','real','-1','1.79769e+308','100000',NULL),
    ('jit_debugging_support','off',NULL,'Developer Options','Register JIT-compiled functions with debugger.','superuser-backend','bool',NULL,NULL,'off',NULL),
    ('jit_dump_bitcode','off',NULL,'Developer Options','Write out LLVM bitcode to facilitate JIT debugging.','superuser','bool',NULL,NULL,'off',NULL),
    ('jit_expressions','on',NULL,'Developer Options','Allow JIT compilation of expressions.','user','bool',NULL,NULL,'on',NULL),
    ('jit_inline_above_cost','500000',NULL,'Query Tuning / Planner Cost Constants','Perform JIT inlining if query is more expensive.','user','real','-1','1.79769e+308','500000',NULL),
    ('jit_optimize_above_cost','500000',NULL,'Query Tuning / Planner Cost Constants','Optimize JIT-compiled functions if query is more expensive.','user','real','-1','1.79769e+308','500000',NULL),
    ('jit_profiling_support','off',NULL,'Developer Options','Register JIT-compiled functions with perf profiler.','superuser-backend','bool',NULL,NULL,'off',NULL),
    ('jit_provider','llvmjit',NULL,'Client Connection Defaults / Shared Library Preloading','JIT provider to use.','postmaster','string',NULL,NULL,'llvmjit',NULL),
    ('jit_tuple_deforming','on',NULL,'Developer Options','Allow JIT compilation of tuple deforming.','user','bool',NULL,NULL,'on',NULL),
    ('join_collapse_limit','8',NULL,'Query Tuning / Other Planner Options','Sets the FROM-list size beyond which JOIN constructs are not flattened.','user','integer','1','2147483647','8',NULL),
    ('krb_caseins_users','off',NULL,'Connections and Authentication / Authentication','Sets whether Kerberos and GSSAPI user names should be treated as case-insensitive.','sighup','bool',NULL,NULL,'off',NULL),
    ('krb_server_keyfile','',NULL,'Connections and Authentication / Authentication','Sets the location of the Kerberos server key file.','sighup','string',NULL,NULL,'FILE:/etc/postgresql-common/krb5.keytab',NULL),
    ('lc_collate','C.UTF-8',NULL,'Preset Options','Shows the collation order locale.','internal','string',NULL,NULL,'C',NULL),
    ('lc_ctype','C.UTF-8',NULL,'Preset Options','Shows the character classification and case conversion locale.','internal','string',NULL,NULL,'C',NULL),
    ('lc_messages','C.UTF-8',NULL,'Client Connection Defaults / Locale and Formatting','Sets the language in which messages are displayed.','superuser','string',NULL,NULL,'',NULL),
    ('lc_monetary','C.UTF-8',NULL,'Client Connection Defaults / Locale and Formatting','Sets the locale for formatting monetary amounts.','user','string',NULL,NULL,'C',NULL),
    ('lc_numeric','C.UTF-8',NULL,'Client Connection Defaults / Locale and Formatting','Sets the locale for formatting numbers.','user','string',NULL,NULL,'C',NULL),
    ('lc_time','C.UTF-8',NULL,'Client Connection Defaults / Locale and Formatting','Sets the locale for formatting date and time values.','user','string',NULL,NULL,'C',NULL),
    ('listen_addresses','*',NULL,'Connections and Authentication / Connection Settings','Sets the host name or IP address(es) to listen to.','postmaster','string',NULL,NULL,'localhost',NULL),
    ('lo_compat_privileges','off',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions','Enables backward compatibility mode for privilege checks on large objects.','superuser','bool',NULL,NULL,'off',NULL),
    ('local_preload_libraries','',NULL,'Client Connection Defaults / Shared Library Preloading','Lists unprivileged shared libraries to preload into each backend.','user','string',NULL,NULL,'',NULL),
    ('lock_timeout','0','ms','Client Connection Defaults / Statement Behavior','Sets the maximum allowed duration of any wait for a lock.','user','integer','0','2147483647','0',NULL),
    ('log_autovacuum_min_duration','600000','ms','Reporting and Logging / What to Log','Sets the minimum execution time above which autovacuum actions will be logged.','sighup','integer','-1','2147483647','600000',NULL),
    ('log_checkpoints','on',NULL,'Reporting and Logging / What to Log','Logs each checkpoint.','sighup','bool',NULL,NULL,'on',NULL),
    ('log_connections','off',NULL,'Reporting and Logging / What to Log','Logs each successful connection.','superuser-backend','bool',NULL,NULL,'off',NULL),
    ('log_destination','stderr',NULL,'Reporting and Logging / Where to Log','Sets the destination for server log output.','sighup','string',NULL,NULL,'stderr',NULL),
    ('log_directory','log',NULL,'Reporting and Logging / Where to Log','Sets the destination directory for log files.','sighup','string',NULL,NULL,'log',NULL),
    ('log_disconnections','off',NULL,'Reporting and Logging / What to Log','Logs end of a session, including duration.','superuser-backend','bool',NULL,NULL,'off',NULL),
    ('log_duration','off',NULL,'Reporting and Logging / What to Log','Logs the duration of each completed SQL statement.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_error_verbosity','default',NULL,'Reporting and Logging / What to Log','Sets the verbosity of logged messages.','superuser','enum',NULL,NULL,'default','{terse,default,verbose}'),
    ('log_executor_stats','off',NULL,'Statistics / Monitoring','Writes executor performance statistics to the server log.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_file_mode','0600',NULL,'Reporting and Logging / Where to Log','Sets the file permissions for log files.','sighup','integer','0','511','384',NULL),
    ('log_filename','postgresql-%Y-%m-%d_%H%M%S.log',NULL,'Reporting and Logging / Where to Log','Sets the file name pattern for log files.','sighup','string',NULL,NULL,'postgresql-%Y-%m-%d_%H%M%S.log',NULL),
    ('log_hostname','off',NULL,'Reporting and Logging / What to Log','Logs the host name in the connection logs.','sighup','bool',NULL,NULL,'off',NULL),
    ('log_line_prefix','%m [%p] ',NULL,'Reporting and Logging / What to Log','Controls information prefixed to each log line.','sighup','string',NULL,NULL,'%m [%p] ',NULL),
    ('log_lock_waits','off',NULL,'Reporting and Logging / What to Log','Logs long lock waits.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_min_duration_sample','-1','ms','Reporting and Logging / When to Log','Sets the minimum execution time above which a sample of statements will be logged. Sampling is determined by log_statement_sample_rate.','superuser','integer','-1','2147483647','-1',NULL),
    ('log_min_duration_statement','-1','ms','Reporting and Logging / When to Log','Sets the minimum execution time above which all statements will be logged.','superuser','integer','-1','2147483647','-1',NULL),
    ('log_min_error_statement','error',NULL,'Reporting and Logging / When to Log','Causes all statements generating error at or above this level to be logged.','superuser','enum',NULL,NULL,'error','{debug5,debug4,debug3,debug2,debug1,info,notice,warning,error,log,fatal,panic}'),
    ('log_min_messages','warning',NULL,'Reporting and Logging / When to Log','Sets the message levels that are logged.','superuser','enum',NULL,NULL,'warning','{debug5,debug4,debug3,debug2,debug1,info,notice,warning,error,log,fatal,panic}'),
    ('log_parameter_max_length','-1','B','Reporting and Logging / What to Log','Sets the maximum length in bytes of data logged for bind parameter values when logging statements.','superuser','integer','-1','1073741823','-1',NULL),
    ('log_parameter_max_length_on_error','0','B','Reporting and Logging / What to Log','Sets the maximum length in bytes of data logged for bind parameter values when logging statements, on error.','user','integer','-1','1073741823','0',NULL),
    ('log_parser_stats','off',NULL,'Statistics / Monitoring','Writes parser performance statistics to the server log.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_planner_stats','off',NULL,'Statistics / Monitoring','Writes planner performance statistics to the server log.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_recovery_conflict_waits','off',NULL,'Reporting and Logging / What to Log','Logs standby recovery conflict waits.','sighup','bool',NULL,NULL,'off',NULL),
    ('log_replication_commands','off',NULL,'Reporting and Logging / What to Log','Logs each replication command.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_rotation_age','1440','min','Reporting and Logging / Where to Log','Sets the amount of time to wait before forcing log file rotation.','sighup','integer','0','35791394','1440',NULL),
    ('log_rotation_size','10240','kB','Reporting and Logging / Where to Log','Sets the maximum size a log file can reach before being rotated.','sighup','integer','0','2097151','10240',NULL),
    ('log_startup_progress_interval','10000','ms','Reporting and Logging / When to Log','Time between progress updates for long-running startup operations.','sighup','integer','0','2147483647','10000',NULL),
    ('log_statement','none',NULL,'Reporting and Logging / What to Log','Sets the type of statements logged.','superuser','enum',NULL,NULL,'none','{none,ddl,mod,all}'),
    ('log_statement_sample_rate','1',NULL,'Reporting and Logging / When to Log','Fraction of statements exceeding log_min_duration_sample to be logged.','superuser','real','0','1','1',NULL),
    ('log_statement_stats','off',NULL,'Statistics / Monitoring','Writes cumulative performance statistics to the server log.','superuser','bool',NULL,NULL,'off',NULL),
    ('log_temp_files','-1','kB','Reporting and Logging / What to Log','Log the use of temporary files larger than this number of kilobytes.','superuser','integer','-1','2147483647','-1',NULL),
    ('log_timezone','UTC',NULL,'Reporting and Logging / What to Log','Sets the time zone to use in log messages.','sighup','string',NULL,NULL,'GMT',NULL),
    ('log_transaction_sample_rate','0',NULL,'Reporting and Logging / When to Log','Sets the fraction of transactions from which to log all statements.','superuser','real','0','1','0',NULL),
    ('log_truncate_on_rotation','off',NULL,'Reporting and Logging / Where to Log','Truncate existing log files of same name during log rotation.','sighup','bool',NULL,NULL,'off',NULL),
    ('logging_collector','off',NULL,'Reporting and Logging / Where to Log','Start a subprocess to capture stderr, csvlog and/or jsonlog into log files.','postmaster','bool',NULL,NULL,'off',NULL),
    ('logical_decoding_work_mem','65536','kB','Resource Usage / Memory','Sets the maximum memory to be used for logical decoding.','user','integer','64','2147483647','65536',NULL),
    ('maintenance_io_concurrency','10',NULL,'Resource Usage / Asynchronous Behavior','A variant of effective_io_concurrency that is used for maintenance work.','user','integer','0','1000','10',NULL),
    ('maintenance_work_mem','65536','kB','Resource Usage / Memory','Sets the maximum memory to be used for maintenance operations.','user','integer','1024','2147483647','65536',NULL),
    ('max_connections','100',NULL,'Connections and Authentication / Connection Settings','Sets the maximum number of concurrent connections.','postmaster','integer','1','262143','100',NULL),
    ('max_files_per_process','1000',NULL,'Resource Usage / Kernel Resources','Sets the maximum number of simultaneously open files for each server process.','postmaster','integer','64','2147483647','1000',NULL),
    ('max_function_args','100',NULL,'Preset Options','Shows the maximum number of function arguments.','internal','integer','100','100','100',NULL),
    ('max_identifier_length','63',NULL,'Preset Options','Shows the maximum identifier length.','internal','integer','63','63','63',NULL),
    ('max_index_keys','32',NULL,'Preset Options','Shows the maximum number of index keys.','internal','integer','32','32','32',NULL),
    ('max_locks_per_transaction','64',NULL,'Lock Management','Sets the maximum number of locks per transaction.','postmaster','integer','10','2147483647','64',NULL),
    ('max_logical_replication_workers','4',NULL,'Replication / Subscribers','Maximum number of logical replication worker processes.','postmaster','integer','0','262143','4',NULL),
    ('max_parallel_maintenance_workers','2',NULL,'Resource Usage / Asynchronous Behavior','Sets the maximum number of parallel processes per maintenance operation.','user','integer','0','1024','2',NULL),
    ('max_parallel_workers','8',NULL,'Resource Usage / Asynchronous Behavior','Sets the maximum number of parallel workers that can be active at one time.','user','integer','0','1024','8',NULL),
    ('max_parallel_workers_per_gather','2',NULL,'Resource Usage / Asynchronous Behavior','Sets the maximum number of parallel processes per executor node.','user','integer','0','1024','2',NULL),
    ('max_pred_locks_per_page','2',NULL,'Lock Management','Sets the maximum number of predicate-locked tuples per page.','sighup','integer','0','2147483647','2',NULL),
    ('max_pred_locks_per_relation','-2',NULL,'Lock Management','Sets the maximum number of predicate-locked pages and tuples per relation.','sighup','integer','-2147483648','2147483647','-2',NULL),
    ('max_pred_locks_per_transaction','64',NULL,'Lock Management','Sets the maximum number of predicate locks per transaction.','postmaster','integer','10','2147483647','64',NULL),
    ('max_prepared_transactions','0',NULL,'Resource Usage / Memory','Sets the maximum number of simultaneously prepared transactions.','postmaster','integer','0','262143','0',NULL),
    ('max_replication_slots','10',NULL,'Replication / Sending Servers','Sets the maximum number of simultaneously defined replication slots.','postmaster','integer','0','262143','10',NULL),
    ('max_slot_wal_keep_size','-1','MB','Replication / Sending Servers','Sets the maximum WAL size that can be reserved by replication slots.','sighup','integer','-1','2147483647','-1',NULL),
    ('max_stack_depth','2048','kB','Resource Usage / Memory','Sets the maximum stack depth, in kilobytes.','superuser','integer','100','2147483647','100',NULL),
    ('max_standby_archive_delay','30000','ms','Replication / Standby Servers','Sets the maximum delay before canceling queries when a hot standby server is processing archived WAL data.','sighup','integer','-1','2147483647','30000',NULL),
    ('max_standby_streaming_delay','30000','ms','Replication / Standby Servers','Sets the maximum delay before canceling queries when a hot standby server is processing streamed WAL data.','sighup','integer','-1','2147483647','30000',NULL),
    ('max_sync_workers_per_subscription','2',NULL,'Replication / Subscribers','Maximum number of table synchronization workers per subscription.','sighup','integer','0','262143','2',NULL),
    ('max_wal_senders','10',NULL,'Replication / Sending Servers','Sets the maximum number of simultaneously running WAL sender processes.','postmaster','integer','0','262143','10',NULL),
    ('max_wal_size','1024','MB','Write-Ahead Log / Checkpoints','Sets the WAL size that triggers a checkpoint.','sighup','integer','2','2147483647','1024',NULL),
    ('max_worker_processes','8',NULL,'Resource Usage / Asynchronous Behavior','Maximum number of concurrent worker processes.','postmaster','integer','0','262143','8',NULL),
    ('min_dynamic_shared_memory','0','MB','Resource Usage / Memory','Amount of dynamic shared memory reserved at startup.','postmaster','integer','0','2147483647','0',NULL),
    ('min_parallel_index_scan_size','64','8kB','Query Tuning / Planner Cost Constants','Sets the minimum amount of index data for a parallel scan.','user','integer','0','715827882','64',NULL),
    ('min_parallel_table_scan_size','1024','8kB','Query Tuning / Planner Cost Constants','Sets the minimum amount of table data for a parallel scan.','user','integer','0','715827882','1024',NULL),
    ('min_wal_size','80','MB','Write-Ahead Log / Checkpoints','Sets the minimum size to shrink the WAL to.','sighup','integer','2','2147483647','80',NULL),
    ('old_snapshot_threshold','-1','min','Resource Usage / Asynchronous Behavior','Time before a snapshot is too old to read pages changed after the snapshot was taken.','postmaster','integer','-1','86400','-1',NULL),
    ('parallel_leader_participation','on',NULL,'Resource Usage / Asynchronous Behavior','Controls whether Gather and Gather Merge also run subplans.','user','bool',NULL,NULL,'on',NULL),
    ('parallel_setup_cost','1000',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of starting up worker processes for parallel query.','user','real','0','1.79769e+308','1000',NULL),
    ('parallel_tuple_cost','0.1',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of passing each tuple (row) from worker to leader backend.','user','real','0','1.79769e+308','0.1',NULL),
    ('password_encryption','scram-sha-256',NULL,'Connections and Authentication / Authentication','Chooses the algorithm for encrypting passwords.','user','enum',NULL,NULL,'scram-sha-256','{md5,scram-sha-256}'),
    ('plan_cache_mode','auto',NULL,'Query Tuning / Other Planner Options','Controls the planner''s selection of custom or generic plan.','user','enum',NULL,NULL,'auto','{auto,force_generic_plan,force_custom_plan}'),
    ('port','5432',NULL,'Connections and Authentication / Connection Settings','Sets the TCP port the server listens on.','postmaster','integer','1','65535','5432',NULL),
    ('post_auth_delay','0','s','Developer Options','Sets the amount of time to wait after authentication on connection startup.','backend','integer','0','2147','0',NULL),
    ('pre_auth_delay','0','s','Developer Options','Sets the amount of time to wait before authentication on connection startup.','sighup','integer','0','60','0',NULL),
    ('primary_conninfo','',NULL,'Replication / Standby Servers','Sets the connection string to be used to connect to the sending server.','sighup','string',NULL,NULL,'',NULL),
    ('primary_slot_name','',NULL,'Replication / Standby Servers','Sets the name of the replication slot to use on the sending server.','sighup','string',NULL,NULL,'',NULL),
    ('promote_trigger_file','',NULL,'Replication / Standby Servers','Specifies a file name whose presence ends recovery in the standby.','sighup','string',NULL,NULL,'',NULL),
    ('quote_all_identifiers','off',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions','When generating SQL fragments, quote all identifiers.','user','bool',NULL,NULL,'off',NULL),
    ('random_page_cost','4',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of a nonsequentially fetched disk page.','user','real','0','1.79769e+308','4',NULL),
    ('recovery_end_command','',NULL,'Write-Ahead Log / Archive Recovery','Sets the shell command that will be executed once at the end of recovery.','sighup','string',NULL,NULL,'',NULL),
    ('recovery_init_sync_method','fsync',NULL,'Error Handling','Sets the method for synchronizing the data directory before crash recovery.','sighup','enum',NULL,NULL,'fsync','{fsync,syncfs}'),
    ('recovery_min_apply_delay','0','ms','Replication / Standby Servers','Sets the minimum delay for applying changes during recovery.','sighup','integer','0','2147483647','0',NULL),
    ('recovery_prefetch','try',NULL,'Write-Ahead Log / Recovery','Prefetch referenced blocks during recovery.','sighup','enum',NULL,NULL,'try','{off,on,try}'),
    ('recovery_target','',NULL,'Write-Ahead Log / Recovery Target','Set to "immediate" to end recovery as soon as a consistent state is reached.','postmaster','string',NULL,NULL,'',NULL),
    ('recovery_target_action','pause',NULL,'Write-Ahead Log / Recovery Target','Sets the action to perform upon reaching the recovery target.','postmaster','enum',NULL,NULL,'pause','{pause,promote,shutdown}'),
    ('recovery_target_inclusive','on',NULL,'Write-Ahead Log / Recovery Target','Sets whether to include or exclude transaction with recovery target.','postmaster','bool',NULL,NULL,'on',NULL),
    ('recovery_target_lsn','',NULL,'Write-Ahead Log / Recovery Target','Sets the LSN of the write-ahead log location up to which recovery will proceed.','postmaster','string',NULL,NULL,'',NULL),
    ('recovery_target_name','',NULL,'Write-Ahead Log / Recovery Target','Sets the named restore point up to which recovery will proceed.','postmaster','string',NULL,NULL,'',NULL),
    ('recovery_target_time','',NULL,'Write-Ahead Log / Recovery Target','Sets the time stamp up to which recovery will proceed.','postmaster','string',NULL,NULL,'',NULL),
    ('recovery_target_timeline','latest',NULL,'Write-Ahead Log / Recovery Target','Specifies the timeline to recover into.','postmaster','string',NULL,NULL,'latest',NULL),
    ('recovery_target_xid','',NULL,'Write-Ahead Log / Recovery Target','Sets the transaction ID up to which recovery will proceed.','postmaster','string',NULL,NULL,'',NULL),
    ('recursive_worktable_factor','10',NULL,'Query Tuning / Other Planner Options','Sets the planner''s estimate of the average size of a recursive query''s working table.','user','real','0.001','1e+06','10',NULL),
    ('remove_temp_files_after_crash','on',NULL,'Developer Options','Remove temporary files after backend crash.','sighup','bool',NULL,NULL,'on',NULL),
    ('restart_after_crash','on',NULL,'Error Handling','Reinitialize server after backend crash.','sighup','bool',NULL,NULL,'on',NULL),
    ('restore_command','',NULL,'Write-Ahead Log / Archive Recovery','Sets the shell command that will be called to retrieve an archived WAL file.','sighup','string',NULL,NULL,'',NULL),
    ('restrict_nonsystem_relation_kind','',NULL,'Client Connection Defaults / Statement Behavior','Prohibits access to non-system relations of specified kinds.','user','string',NULL,NULL,'',NULL),
    ('row_security','on',NULL,'Client Connection Defaults / Statement Behavior','Enable row security.','user','bool',NULL,NULL,'on',NULL),
    ('search_path','"$user", public',NULL,'Client Connection Defaults / Statement Behavior','Sets the schema search order for names that are not schema-qualified.','user','string',NULL,NULL,'"$user", public',NULL),
    ('segment_size','131072','8kB','Preset Options','Shows the number of pages per disk file.','internal','integer','131072','131072','131072',NULL),
    ('seq_page_cost','1',NULL,'Query Tuning / Planner Cost Constants','Sets the planner''s estimate of the cost of a sequentially fetched disk page.','user','real','0','1.79769e+308','1',NULL),
    ('server_encoding','UTF8',NULL,'Preset Options','Shows the server (database) character set encoding.','internal','string',NULL,NULL,'SQL_ASCII',NULL),
    ('server_version','15.0',NULL,'Preset Options','Shows the server version.','internal','string',NULL,NULL,'15.18 (Debian 15.18-0+deb12u1)',NULL),
    ('server_version_num','150000',NULL,'Preset Options','Shows the server version as an integer.','internal','integer','150018','150018','150018',NULL),
    ('session_preload_libraries','',NULL,'Client Connection Defaults / Shared Library Preloading','Lists shared libraries to preload into each backend.','superuser','string',NULL,NULL,'',NULL),
    ('session_replication_role','origin',NULL,'Client Connection Defaults / Statement Behavior','Sets the session''s behavior for triggers and rewrite rules.','superuser','enum',NULL,NULL,'origin','{origin,replica,local}'),
    ('shared_buffers','16384','8kB','Resource Usage / Memory','Sets the number of shared memory buffers used by the server.','postmaster','integer','16','1073741823','16384',NULL),
    ('shared_memory_size','143','MB','Preset Options','Shows the size of the server''s main shared memory area (rounded up to the nearest MB).','internal','integer','0','2147483647','0',NULL),
    ('shared_memory_size_in_huge_pages','72',NULL,'Preset Options','Shows the number of huge pages needed for the main shared memory area.','internal','integer','-1','2147483647','-1',NULL),
    ('shared_memory_type','mmap',NULL,'Resource Usage / Memory','Selects the shared memory implementation used for the main shared memory region.','postmaster','enum',NULL,NULL,'mmap','{sysv,mmap}'),
    ('shared_preload_libraries','',NULL,'Client Connection Defaults / Shared Library Preloading','Lists shared libraries to preload into server.','postmaster','string',NULL,NULL,'',NULL),
    ('ssl','off',NULL,'Connections and Authentication / SSL','Enables SSL connections.','sighup','bool',NULL,NULL,'off',NULL),
    ('ssl_ca_file','',NULL,'Connections and Authentication / SSL','Location of the SSL certificate authority file.','sighup','string',NULL,NULL,'',NULL),
    ('ssl_cert_file','server.crt',NULL,'Connections and Authentication / SSL','Location of the SSL server certificate file.','sighup','string',NULL,NULL,'server.crt',NULL),
    ('ssl_ciphers','HIGH:MEDIUM:+3DES:!aNULL',NULL,'Connections and Authentication / SSL','Sets the list of allowed SSL ciphers.','sighup','string',NULL,NULL,'HIGH:MEDIUM:+3DES:!aNULL',NULL),
    ('ssl_crl_dir','',NULL,'Connections and Authentication / SSL','Location of the SSL certificate revocation list directory.','sighup','string',NULL,NULL,'',NULL),
    ('ssl_crl_file','',NULL,'Connections and Authentication / SSL','Location of the SSL certificate revocation list file.','sighup','string',NULL,NULL,'',NULL),
    ('ssl_dh_params_file','',NULL,'Connections and Authentication / SSL','Location of the SSL DH parameters file.','sighup','string',NULL,NULL,'',NULL),
    ('ssl_ecdh_curve','prime256v1',NULL,'Connections and Authentication / SSL','Sets the curve to use for ECDH.','sighup','string',NULL,NULL,'prime256v1',NULL),
    ('ssl_key_file','server.key',NULL,'Connections and Authentication / SSL','Location of the SSL server private key file.','sighup','string',NULL,NULL,'server.key',NULL),
    ('ssl_library','OpenSSL',NULL,'Preset Options','Shows the name of the SSL library.','internal','string',NULL,NULL,'OpenSSL',NULL),
    ('ssl_max_protocol_version','',NULL,'Connections and Authentication / SSL','Sets the maximum SSL/TLS protocol version to use.','sighup','enum',NULL,NULL,'','{"",TLSv1,TLSv1.1,TLSv1.2,TLSv1.3}'),
    ('ssl_min_protocol_version','TLSv1.2',NULL,'Connections and Authentication / SSL','Sets the minimum SSL/TLS protocol version to use.','sighup','enum',NULL,NULL,'TLSv1.2','{TLSv1,TLSv1.1,TLSv1.2,TLSv1.3}'),
    ('ssl_passphrase_command','',NULL,'Connections and Authentication / SSL','Command to obtain passphrases for SSL.','sighup','string',NULL,NULL,'',NULL),
    ('ssl_passphrase_command_supports_reload','off',NULL,'Connections and Authentication / SSL','Controls whether ssl_passphrase_command is called during server reload.','sighup','bool',NULL,NULL,'off',NULL),
    ('ssl_prefer_server_ciphers','on',NULL,'Connections and Authentication / SSL','Give priority to server ciphersuite order.','sighup','bool',NULL,NULL,'on',NULL),
    ('standard_conforming_strings','on',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions','Causes ''...'' strings to treat backslashes literally.','user','bool',NULL,NULL,'on',NULL),
    ('statement_timeout','0','ms','Client Connection Defaults / Statement Behavior','Sets the maximum allowed duration of any statement.','user','integer','0','2147483647','0',NULL),
    ('stats_fetch_consistency','cache',NULL,'Statistics / Cumulative Query and Index Statistics','Sets the consistency of accesses to statistics data.','user','enum',NULL,NULL,'cache','{none,cache,snapshot}'),
    ('superuser_reserved_connections','3',NULL,'Connections and Authentication / Connection Settings','Sets the number of connection slots reserved for superusers.','postmaster','integer','0','262143','3',NULL),
    ('synchronize_seqscans','on',NULL,'Version and Platform Compatibility / Previous PostgreSQL Versions','Enable synchronized sequential scans.','user','bool',NULL,NULL,'on',NULL),
    ('synchronous_commit','on',NULL,'Write-Ahead Log / Settings','Sets the current transaction''s synchronization level.','user','enum',NULL,NULL,'on','{local,remote_write,remote_apply,on,off}'),
    ('synchronous_standby_names','',NULL,'Replication / Primary Server','Number of synchronous standbys and list of names of potential synchronous ones.','sighup','string',NULL,NULL,'',NULL),
    ('syslog_facility','local0',NULL,'Reporting and Logging / Where to Log','Sets the syslog "facility" to be used when syslog enabled.','sighup','enum',NULL,NULL,'local0','{local0,local1,local2,local3,local4,local5,local6,local7}'),
    ('syslog_ident','postgres',NULL,'Reporting and Logging / Where to Log','Sets the program name used to identify PostgreSQL messages in syslog.','sighup','string',NULL,NULL,'postgres',NULL),
    ('syslog_sequence_numbers','on',NULL,'Reporting and Logging / Where to Log','Add sequence number to syslog messages to avoid duplicate suppression.','sighup','bool',NULL,NULL,'on',NULL),
    ('syslog_split_messages','on',NULL,'Reporting and Logging / Where to Log','Split messages sent to syslog by lines and to fit into 1024 bytes.','sighup','bool',NULL,NULL,'on',NULL),
    ('tcp_keepalives_count','9',NULL,'Connections and Authentication / Connection Settings','Maximum number of TCP keepalive retransmits.','user','integer','0','2147483647','0',NULL),
    ('tcp_keepalives_idle','7200','s','Connections and Authentication / Connection Settings','Time between issuing TCP keepalives.','user','integer','0','2147483647','0',NULL),
    ('tcp_keepalives_interval','75','s','Connections and Authentication / Connection Settings','Time between TCP keepalive retransmits.','user','integer','0','2147483647','0',NULL),
    ('tcp_user_timeout','0','ms','Connections and Authentication / Connection Settings','TCP user timeout.','user','integer','0','2147483647','0',NULL),
    ('temp_buffers','1024','8kB','Resource Usage / Memory','Sets the maximum number of temporary buffers used by each session.','user','integer','100','1073741823','1024',NULL),
    ('temp_file_limit','-1','kB','Resource Usage / Disk','Limits the total size of all temporary files used by each process.','superuser','integer','-1','2147483647','-1',NULL),
    ('temp_tablespaces','',NULL,'Client Connection Defaults / Statement Behavior','Sets the tablespace(s) to use for temporary tables and sort files.','user','string',NULL,NULL,'',NULL),
    ('timezone_abbreviations','Default',NULL,'Client Connection Defaults / Locale and Formatting','Selects a file of time zone abbreviations.','user','string',NULL,NULL,NULL,NULL),
    ('trace_notify','off',NULL,'Developer Options','Generates debugging output for LISTEN and NOTIFY.','user','bool',NULL,NULL,'off',NULL),
    ('trace_recovery_messages','log',NULL,'Developer Options','Enables logging of recovery-related debugging information.','sighup','enum',NULL,NULL,'log','{debug5,debug4,debug3,debug2,debug1,log,notice,warning,error}'),
    ('trace_sort','off',NULL,'Developer Options','Emit information about resource usage in sorting.','user','bool',NULL,NULL,'off',NULL),
    ('track_activities','on',NULL,'Statistics / Cumulative Query and Index Statistics','Collects information about executing commands.','superuser','bool',NULL,NULL,'on',NULL),
    ('track_activity_query_size','1024','B','Statistics / Cumulative Query and Index Statistics','Sets the size reserved for pg_stat_activity.query, in bytes.','postmaster','integer','100','1048576','1024',NULL),
    ('track_commit_timestamp','off',NULL,'Replication / Sending Servers','Collects transaction commit time.','postmaster','bool',NULL,NULL,'off',NULL),
    ('track_counts','on',NULL,'Statistics / Cumulative Query and Index Statistics','Collects statistics on database activity.','superuser','bool',NULL,NULL,'on',NULL),
    ('track_functions','none',NULL,'Statistics / Cumulative Query and Index Statistics','Collects function-level statistics on database activity.','superuser','enum',NULL,NULL,'none','{none,pl,all}'),
    ('track_io_timing','off',NULL,'Statistics / Cumulative Query and Index Statistics','Collects timing statistics for database I/O activity.','superuser','bool',NULL,NULL,'off',NULL),
    ('track_wal_io_timing','off',NULL,'Statistics / Cumulative Query and Index Statistics','Collects timing statistics for WAL I/O activity.','superuser','bool',NULL,NULL,'off',NULL),
    ('transaction_deferrable','off',NULL,'Client Connection Defaults / Statement Behavior','Whether to defer a read-only serializable transaction until it can be executed with no possible serialization failures.','user','bool',NULL,NULL,'off',NULL),
    ('transaction_isolation','read committed',NULL,'Client Connection Defaults / Statement Behavior','Sets the current transaction''s isolation level.','user','enum',NULL,NULL,'read committed','{serializable,"repeatable read","read committed","read uncommitted"}'),
    ('transaction_read_only','off',NULL,'Client Connection Defaults / Statement Behavior','Sets the current transaction''s read-only status.','user','bool',NULL,NULL,'off',NULL),
    ('transform_null_equals','off',NULL,'Version and Platform Compatibility / Other Platforms and Clients','Treats "expr=NULL" as "expr IS NULL".','user','bool',NULL,NULL,'off',NULL),
    ('unix_socket_directories','',NULL,'Connections and Authentication / Connection Settings','Sets the directories where Unix-domain sockets will be created.','postmaster','string',NULL,NULL,'/var/run/postgresql',NULL),
    ('unix_socket_group','',NULL,'Connections and Authentication / Connection Settings','Sets the owning group of the Unix-domain socket.','postmaster','string',NULL,NULL,'',NULL),
    ('unix_socket_permissions','0777',NULL,'Connections and Authentication / Connection Settings','Sets the access permissions of the Unix-domain socket.','postmaster','integer','0','511','511',NULL),
    ('update_process_title','on',NULL,'Reporting and Logging / Process Title','Updates the process title to show the active SQL command.','superuser','bool',NULL,NULL,'on',NULL),
    ('vacuum_cost_delay','0','ms','Resource Usage / Cost-Based Vacuum Delay','Vacuum cost delay in milliseconds.','user','real','0','100','0',NULL),
    ('vacuum_cost_limit','200',NULL,'Resource Usage / Cost-Based Vacuum Delay','Vacuum cost amount available before napping.','user','integer','1','10000','200',NULL),
    ('vacuum_cost_page_dirty','20',NULL,'Resource Usage / Cost-Based Vacuum Delay','Vacuum cost for a page dirtied by vacuum.','user','integer','0','10000','20',NULL),
    ('vacuum_cost_page_hit','1',NULL,'Resource Usage / Cost-Based Vacuum Delay','Vacuum cost for a page found in the buffer cache.','user','integer','0','10000','1',NULL),
    ('vacuum_cost_page_miss','2',NULL,'Resource Usage / Cost-Based Vacuum Delay','Vacuum cost for a page not found in the buffer cache.','user','integer','0','10000','2',NULL),
    ('vacuum_defer_cleanup_age','0',NULL,'Replication / Primary Server','Number of transactions by which VACUUM and HOT cleanup should be deferred, if any.','sighup','integer','0','1000000','0',NULL),
    ('vacuum_failsafe_age','1600000000',NULL,'Client Connection Defaults / Statement Behavior','Age at which VACUUM should trigger failsafe to avoid a wraparound outage.','user','integer','0','2100000000','1600000000',NULL),
    ('vacuum_freeze_min_age','50000000',NULL,'Client Connection Defaults / Statement Behavior','Minimum age at which VACUUM should freeze a table row.','user','integer','0','1000000000','50000000',NULL),
    ('vacuum_freeze_table_age','150000000',NULL,'Client Connection Defaults / Statement Behavior','Age at which VACUUM should scan whole table to freeze tuples.','user','integer','0','2000000000','150000000',NULL),
    ('vacuum_multixact_failsafe_age','1600000000',NULL,'Client Connection Defaults / Statement Behavior','Multixact age at which VACUUM should trigger failsafe to avoid a wraparound outage.','user','integer','0','2100000000','1600000000',NULL),
    ('vacuum_multixact_freeze_min_age','5000000',NULL,'Client Connection Defaults / Statement Behavior','Minimum age at which VACUUM should freeze a MultiXactId in a table row.','user','integer','0','1000000000','5000000',NULL),
    ('vacuum_multixact_freeze_table_age','150000000',NULL,'Client Connection Defaults / Statement Behavior','Multixact age at which VACUUM should scan whole table to freeze tuples.','user','integer','0','2000000000','150000000',NULL),
    ('wal_block_size','8192',NULL,'Preset Options','Shows the block size in the write ahead log.','internal','integer','8192','8192','8192',NULL),
    ('wal_buffers','512','8kB','Write-Ahead Log / Settings','Sets the number of disk-page buffers in shared memory for WAL.','postmaster','integer','-1','262143','-1',NULL),
    ('wal_compression','off',NULL,'Write-Ahead Log / Settings','Compresses full-page writes written in WAL file with specified method.','superuser','enum',NULL,NULL,'off','{pglz,lz4,zstd,on,off}'),
    ('wal_consistency_checking','',NULL,'Developer Options','Sets the WAL resource managers for which WAL consistency checks are done.','superuser','string',NULL,NULL,'',NULL),
    ('wal_decode_buffer_size','524288','B','Write-Ahead Log / Recovery','Buffer size for reading ahead in the WAL during recovery.','postmaster','integer','65536','1073741823','524288',NULL),
    ('wal_init_zero','on',NULL,'Write-Ahead Log / Settings','Writes zeroes to new WAL files before first use.','superuser','bool',NULL,NULL,'on',NULL),
    ('wal_keep_size','0','MB','Replication / Sending Servers','Sets the size of WAL files held for standby servers.','sighup','integer','0','2147483647','0',NULL),
    ('wal_level','replica',NULL,'Write-Ahead Log / Settings','Sets the level of information written to the WAL.','postmaster','enum',NULL,NULL,'replica','{minimal,replica,logical}'),
    ('wal_log_hints','off',NULL,'Write-Ahead Log / Settings','Writes full pages to WAL when first modified after a checkpoint, even for a non-critical modification.','postmaster','bool',NULL,NULL,'off',NULL),
    ('wal_receiver_create_temp_slot','off',NULL,'Replication / Standby Servers','Sets whether a WAL receiver should create a temporary replication slot if no permanent slot is configured.','sighup','bool',NULL,NULL,'off',NULL),
    ('wal_receiver_status_interval','10','s','Replication / Standby Servers','Sets the maximum interval between WAL receiver status reports to the sending server.','sighup','integer','0','2147483','10',NULL),
    ('wal_receiver_timeout','60000','ms','Replication / Standby Servers','Sets the maximum wait time to receive data from the sending server.','sighup','integer','0','2147483647','60000',NULL),
    ('wal_recycle','on',NULL,'Write-Ahead Log / Settings','Recycles WAL files by renaming them.','superuser','bool',NULL,NULL,'on',NULL),
    ('wal_retrieve_retry_interval','5000','ms','Replication / Standby Servers','Sets the time to wait before retrying to retrieve WAL after a failed attempt.','sighup','integer','1','2147483647','5000',NULL),
    ('wal_segment_size','16777216','B','Preset Options','Shows the size of write ahead log segments.','internal','integer','1048576','1073741824','16777216',NULL),
    ('wal_sender_timeout','60000','ms','Replication / Sending Servers','Sets the maximum time to wait for WAL replication.','user','integer','0','2147483647','60000',NULL),
    ('wal_skip_threshold','2048','kB','Write-Ahead Log / Settings','Minimum size of new file to fsync instead of writing WAL.','user','integer','0','2147483647','2048',NULL),
    ('wal_sync_method','fdatasync',NULL,'Write-Ahead Log / Settings','Selects the method used for forcing WAL updates to disk.','sighup','enum',NULL,NULL,'fdatasync','{fsync,fdatasync,open_sync,open_datasync}'),
    ('wal_writer_delay','200','ms','Write-Ahead Log / Settings','Time between WAL flushes performed in the WAL writer.','sighup','integer','1','10000','200',NULL),
    ('wal_writer_flush_after','128','8kB','Write-Ahead Log / Settings','Amount of WAL written out by WAL writer that triggers a flush.','sighup','integer','0','2147483647','128',NULL),
    ('work_mem','4096','kB','Resource Usage / Memory','Sets the maximum memory to be used for query workspaces.','user','integer','64','2147483647','4096',NULL),
    ('xmlbinary','base64',NULL,'Client Connection Defaults / Statement Behavior','Sets how binary values are to be encoded in XML.','user','enum',NULL,NULL,'base64','{base64,hex}'),
    ('xmloption','content',NULL,'Client Connection Defaults / Statement Behavior','Sets whether XML data in implicit parsing and serialization operations is to be considered as documents or content fragments.','user','enum',NULL,NULL,'content','{content,document}'),
    ('zero_damaged_pages','off',NULL,'Developer Options','Continues processing past damaged page headers.','superuser','bool',NULL,NULL,'off',NULL)
;

-- DuckDB type (duckdb_columns().data_type without array suffixes) -> PostgreSQL type OID and atttypmod.
-- DECIMAL(p,s), ENUM(...), STRUCT/MAP/UNION are handled in duckraft_pgtype() below.
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_type_map (duckdb_type VARCHAR PRIMARY KEY, oid UINTEGER, typmod INTEGER);
INSERT INTO duckraft_pg.main.duckraft_type_map VALUES
    ('BOOLEAN', 16, -1), ('TINYINT', 21, -1), ('SMALLINT', 21, -1), ('INTEGER', 23, -1), ('BIGINT', 20, -1),
    ('UTINYINT', 21, -1), ('USMALLINT', 23, -1), ('UINTEGER', 26, -1),
    ('UBIGINT', 1700, (20 << 16) + 4), ('HUGEINT', 1700, -1), ('UHUGEINT', 1700, -1), ('BIGNUM', 1700, -1),
    ('FLOAT', 700, -1), ('DOUBLE', 701, -1),
    ('VARCHAR', 1043, -1), ('duckraft_text', 25, -1), ('JSON', 114, -1), ('BLOB', 17, -1), ('UUID', 2950, -1), ('BIT', 1562, -1),
    ('DATE', 1082, -1), ('TIME', 1083, -1), ('TIME_NS', 1083, -1), ('TIME WITH TIME ZONE', 1266, -1),
    ('TIMESTAMP', 1114, -1), ('TIMESTAMP_S', 1114, 0), ('TIMESTAMP_MS', 1114, 3), ('TIMESTAMP_NS', 1114, -1),
    ('TIMESTAMP WITH TIME ZONE', 1184, -1), ('TIMESTAMPTZ_NS', 1184, -1), ('INTERVAL', 1186, -1),
    ('VARIANT', 114, -1), ('GEOMETRY', 17, -1), ('"NULL"', 25, -1), ('NULL', 25, -1);

-- ---------------------------------------------------------------------------------------------------------------
-- Namespaces, relations, columns (helper views; pg_* views are projections of these)
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_schemas AS
SELECT s.schema_name AS nspname, duckraft_pg.main.duckraft_nsp_oid(s.schema_name) AS oid, s.comment
FROM duckdb_schemas() s
WHERE s.database_name = system.main.current_database() AND s.schema_name NOT IN ('main', 'pg_catalog', 'information_schema')
UNION ALL SELECT 'pg_catalog', 11, 'system catalog schema'
UNION ALL SELECT 'information_schema', 13207, NULL;

-- User enums (DuckDB CREATE TYPE ... AS ENUM), with the data_type string DuckDB prints for columns of that type.
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_enums AS
SELECT t.schema_name AS nspname, t.type_name AS typname,
       duckraft_pg.main.duckraft_oid('t', t.schema_name || '.' || t.type_name) AS oid,
       duckraft_pg.main.duckraft_nsp_oid(t.schema_name) AS typnamespace,
       t.labels,
       'ENUM(' || array_to_string(list_transform(t.labels, lambda x: '''' || replace(x, '''', '''''') || ''''), ', ') || ')'
           AS duckdb_type
FROM duckdb_types() t
WHERE t.database_name = system.main.current_database() AND t.logical_type = 'ENUM' AND NOT t.internal
  AND t.schema_name <> 'main';

-- DuckDB type string -> STRUCT(oid, typmod, ndims) following the mapping table above. duckraft_columns
-- spells the same mapping as joins; crates/engine/tests/declared_types.rs checks that the two agree.
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_pgtype(data_type) AS (
    WITH __dp1_p AS (
        SELECT regexp_replace(data_type, '(\[\d*\])+$', '') AS base,
               length(regexp_extract(data_type, '((\[\d*\])+)$', 1))
                 - length(replace(regexp_extract(data_type, '((\[\d*\])+)$', 1), '[', '')) AS ndims),
    __dp1_b AS (
        SELECT __dp1_p.ndims, __dp1_p.base,
            CASE WHEN __dp1_p.base LIKE 'DECIMAL(%' THEN 1700
                 WHEN __dp1_p.base LIKE 'STRUCT(%' OR __dp1_p.base LIKE 'MAP(%' OR __dp1_p.base LIKE 'UNION(%' THEN 114
                 WHEN __dp1_p.base LIKE 'ENUM(%' THEN coalesce((SELECT min(__dp1_e.oid) FROM duckraft_pg.main.duckraft_enums __dp1_e
                                                         WHERE __dp1_e.duckdb_type = __dp1_p.base), 1043)
                 WHEN __dp1_p.base LIKE 'VARCHAR COLLATE %' THEN 1043
                 -- A declared varchar(n) (crates/sql/src/column_defs.rs).
                 WHEN regexp_full_match(__dp1_p.base, 'duckraft_varchar_\d+') THEN 1043
                 ELSE coalesce((SELECT __dp1_m.oid FROM duckraft_pg.main.duckraft_type_map __dp1_m WHERE __dp1_m.duckdb_type = __dp1_p.base), 25)
            END::UINTEGER AS base_oid,
            CASE WHEN __dp1_p.base LIKE 'DECIMAL(%' THEN
                      ((regexp_extract(__dp1_p.base, 'DECIMAL\((\d+),(\d+)\)', 1)::INTEGER << 16)
                        + regexp_extract(__dp1_p.base, 'DECIMAL\((\d+),(\d+)\)', 2)::INTEGER + 4)
                 WHEN regexp_full_match(__dp1_p.base, 'duckraft_varchar_\d+') THEN
                      regexp_extract(__dp1_p.base, 'duckraft_varchar_(\d+)', 1)::INTEGER + 4
                 ELSE coalesce((SELECT __dp1_m.typmod FROM duckraft_pg.main.duckraft_type_map __dp1_m WHERE __dp1_m.duckdb_type = __dp1_p.base), -1)
            END::INTEGER AS typmod
        FROM __dp1_p)
    SELECT {'oid': CASE WHEN __dp1_b.ndims = 0 THEN __dp1_b.base_oid
                        -- A list of strings is text[], as its values are typed (a declared text[]).
                        WHEN __dp1_b.base = 'VARCHAR' THEN 1009
                        ELSE coalesce((SELECT nullif(__dp1_t.typarray, 0) FROM duckraft_pg.main.duckraft_builtin_types __dp1_t
                                       WHERE __dp1_t.oid = __dp1_b.base_oid), 1009) END::UINTEGER,
            'typmod': __dp1_b.typmod, 'ndims': __dp1_b.ndims::INTEGER}
    FROM __dp1_b);

-- The pg_catalog views themselves as relations of namespace pg_catalog, listed once when this script runs
-- (filled at its end; see duckraft_relations).
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_catalog_relations (
    nspname VARCHAR, relname VARCHAR, relkind VARCHAR, relnatts BIGINT, relchecks BIGINT, relhasindex BOOLEAN,
    reltuples REAL, relpersistence VARCHAR, viewdef VARCHAR, comment VARCHAR, idx_table VARCHAR, idx_kind VARCHAR);

-- Every relation: user tables, views, sequences, indexes (explicit and PRIMARY KEY/UNIQUE-backed), and the
-- duckraft_pg.main.pg_* views themselves (shown in namespace pg_catalog).

CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_relations AS
WITH cur AS (SELECT system.main.current_database() AS db),
cons AS (
    SELECT c.schema_name, c.table_name, c.constraint_type, c.constraint_column_names, c.constraint_column_indexes,
           CASE c.constraint_type WHEN 'PRIMARY KEY' THEN c.table_name || '_pkey' ELSE c.constraint_name END AS idxname
    FROM duckdb_constraints() c, cur
    WHERE c.database_name = cur.db AND c.constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND c.schema_name <> 'main'),
rels AS (
    SELECT t.schema_name AS nspname, t.table_name AS relname, 'r' AS relkind, t.column_count AS relnatts,
           t.check_constraint_count AS relchecks,
           (t.index_count > 0 OR t.has_primary_key OR indexed.table_name IS NOT NULL) AS relhasindex,
           t.estimated_size::REAL AS reltuples, CASE WHEN t.temporary THEN 't' ELSE 'p' END AS relpersistence,
           NULL::VARCHAR AS viewdef, t.comment, NULL::VARCHAR AS idx_table, NULL::VARCHAR AS idx_kind
    FROM duckdb_tables() t JOIN cur ON t.database_name = cur.db
         LEFT JOIN (SELECT DISTINCT schema_name, table_name FROM cons) indexed
                ON indexed.schema_name = t.schema_name AND indexed.table_name = t.table_name
    WHERE t.schema_name <> 'main'
    UNION ALL
    SELECT v.schema_name, v.view_name, 'v', v.column_count, 0, false, 0, CASE WHEN v.temporary THEN 't' ELSE 'p' END,
           v.sql, v.comment, NULL, NULL
    FROM duckdb_views() v, cur WHERE v.database_name = cur.db AND NOT v.internal AND v.schema_name <> 'main'
    UNION ALL
    SELECT s.schema_name, s.sequence_name, 'S', 3, 0, false, 1, CASE WHEN s.temporary THEN 't' ELSE 'p' END,
           NULL, s.comment, NULL, NULL
    FROM duckdb_sequences() s, cur WHERE s.database_name = cur.db AND s.schema_name <> 'main'
    UNION ALL
    SELECT i.schema_name, i.index_name, 'i', 1, 0, false, 0, 'p', NULL, i.comment, i.table_name,
           CASE WHEN i.is_unique THEN 'unique' ELSE 'index' END
    FROM duckdb_indexes() i, cur WHERE i.database_name = cur.db AND i.schema_name <> 'main'
    UNION ALL
    SELECT cons.schema_name, cons.idxname, 'i', len(cons.constraint_column_names), 0, false, 0, 'p', NULL, NULL,
           cons.table_name, CASE cons.constraint_type WHEN 'PRIMARY KEY' THEN 'primary' ELSE 'unique' END
    FROM cons
    UNION ALL
    SELECT * FROM duckraft_pg.main.duckraft_catalog_relations)
SELECT coalesce(CASE WHEN r.nspname = 'pg_catalog' THEN co.oid END,
                duckraft_pg.main.duckraft_oid('r', r.nspname || '.' || r.relname))::UINTEGER AS oid,
       r.relname, r.nspname, duckraft_pg.main.duckraft_nsp_oid(r.nspname) AS relnamespace, r.relkind,
       CASE WHEN r.relkind IN ('r', 'v') AND r.nspname <> 'pg_catalog'
            THEN duckraft_pg.main.duckraft_oid('t', r.nspname || '.' || r.relname) ELSE 0 END::UINTEGER AS reltype,
       CASE r.relkind WHEN 'r' THEN 2 WHEN 'i' THEN 403 ELSE 0 END::UINTEGER AS relam,
       r.relnatts::SMALLINT AS relnatts, r.relchecks::SMALLINT AS relchecks, r.relhasindex, r.reltuples,
       r.relpersistence, r.viewdef, r.comment,
       CASE WHEN r.idx_table IS NOT NULL THEN duckraft_pg.main.duckraft_oid('r', r.nspname || '.' || r.idx_table)
       END::UINTEGER AS idx_relid,
       r.idx_kind
FROM rels r LEFT JOIN duckraft_pg.main.duckraft_catalog_oids co ON co.relname = r.relname;

-- The columns of the pg_catalog views themselves, typed once when this script runs (filled at its end).
CREATE OR REPLACE TABLE duckraft_pg.main.duckraft_catalog_columns (
    attrelid UINTEGER, nspname VARCHAR, table_name VARCHAR, column_name VARCHAR, column_index INTEGER, data_type VARCHAR,
    is_nullable BOOLEAN, column_default VARCHAR, comment VARCHAR, atttypid UINTEGER, atttypmod INTEGER,
    attndims INTEGER);

-- Every column of every table/view in duckraft_relations, with its PostgreSQL type. Cheap to plan, as the
-- postgres scanner joins it into every table lookup: the mapping of duckraft_pgtype() is written as joins
-- (correlated subqueries per column cost DuckDB's planner far more), and the relation's OID is computed as
-- duckraft_relations does rather than joined from it.
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_columns AS
WITH cur AS (SELECT system.main.current_database() AS db),
cols AS (
    SELECT c.schema_name AS nspname, c.table_name, c.column_name, c.column_index, c.data_type, c.is_nullable,
           c.column_default, c.comment, regexp_replace(c.data_type, '(\[\d*\])+$', '') AS base,
           length(regexp_extract(c.data_type, '((\[\d*\])+)$', 1))
             - length(replace(regexp_extract(c.data_type, '((\[\d*\])+)$', 1), '[', '')) AS ndims
    FROM duckdb_columns() c, cur
    WHERE c.database_name = cur.db AND c.schema_name <> 'main'),
enums AS (SELECT e.duckdb_type, min(e.oid) AS oid FROM duckraft_pg.main.duckraft_enums e GROUP BY e.duckdb_type),
based AS (
    SELECT cols.*,
        CASE WHEN cols.base LIKE 'DECIMAL(%' THEN 1700
             WHEN cols.base LIKE 'STRUCT(%' OR cols.base LIKE 'MAP(%' OR cols.base LIKE 'UNION(%' THEN 114
             WHEN cols.base LIKE 'ENUM(%' THEN coalesce(enums.oid, 1043)
             WHEN cols.base LIKE 'VARCHAR COLLATE %' THEN 1043
             WHEN regexp_full_match(cols.base, 'duckraft_varchar_\d+') THEN 1043
             ELSE coalesce(m.oid, 25)
        END::UINTEGER AS base_oid,
        CASE WHEN cols.base LIKE 'DECIMAL(%' THEN
                  ((regexp_extract(cols.base, 'DECIMAL\((\d+),(\d+)\)', 1)::INTEGER << 16)
                    + regexp_extract(cols.base, 'DECIMAL\((\d+),(\d+)\)', 2)::INTEGER + 4)
             WHEN regexp_full_match(cols.base, 'duckraft_varchar_\d+') THEN
                  regexp_extract(cols.base, 'duckraft_varchar_(\d+)', 1)::INTEGER + 4
             ELSE coalesce(m.typmod, -1)
        END::INTEGER AS typmod
    FROM cols LEFT JOIN duckraft_pg.main.duckraft_type_map m ON m.duckdb_type = cols.base
              LEFT JOIN enums ON enums.duckdb_type = cols.base),
typed AS (
    SELECT duckraft_pg.main.duckraft_oid('r', b.nspname || '.' || b.table_name) AS attrelid, b.nspname,
           b.table_name, b.column_name, b.column_index, b.data_type, b.is_nullable, b.column_default, b.comment,
           CASE WHEN b.ndims = 0 THEN b.base_oid
                -- A list of strings is text[], as its values are typed (a declared text[]).
                WHEN b.base = 'VARCHAR' THEN 1009
                ELSE coalesce(nullif(bt.typarray, 0), 1009) END::UINTEGER AS atttypid,
           b.typmod AS atttypmod, b.ndims::INTEGER AS attndims
    FROM based b LEFT JOIN duckraft_pg.main.duckraft_builtin_types bt ON bt.oid = b.base_oid
    UNION ALL
    SELECT * FROM duckraft_pg.main.duckraft_catalog_columns)
SELECT t.attrelid, t.nspname, t.table_name AS relname, t.column_name AS attname,
       t.column_index::SMALLINT AS attnum, t.atttypid, t.atttypmod, t.attndims, NOT t.is_nullable AS attnotnull,
       t.column_default AS attdefault, t.data_type AS duckdb_type, t.comment
FROM typed t;

-- PRIMARY KEY / UNIQUE / CHECK / FOREIGN KEY constraints (NOT NULL is not a pg_constraint row in PostgreSQL 15).
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_constraints AS
WITH cur AS (SELECT system.main.current_database() AS db),
c AS (
    SELECT c.*,
           CASE c.constraint_type WHEN 'PRIMARY KEY' THEN c.table_name || '_pkey'
                WHEN 'FOREIGN KEY' THEN c.table_name || '_' || array_to_string(c.constraint_column_names, '_') || '_fkey'
                ELSE c.constraint_name END AS conname,
           CASE c.constraint_type WHEN 'PRIMARY KEY' THEN 'p' WHEN 'UNIQUE' THEN 'u' WHEN 'CHECK' THEN 'c'
                WHEN 'FOREIGN KEY' THEN 'f' END AS contype
    FROM duckdb_constraints() c, cur
    WHERE c.database_name = cur.db AND c.schema_name <> 'main'
      AND c.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK', 'FOREIGN KEY')),
-- The referenced columns' numbers of each FOREIGN KEY. Read from duckdb_constraints() again rather than from
-- `c`, and without a LATERAL join: both made the view several times as expensive to plan.
fk AS (
    SELECT f.schema_name, f.table_name, f.constraint_index, list(cc.column_index::SMALLINT ORDER BY f.pos) AS confkey
    FROM (SELECT c.database_name, c.schema_name, c.table_name, c.constraint_index, c.referenced_table,
                 unnest(c.referenced_column_names) AS n, unnest(range(len(c.referenced_column_names))) AS pos
          FROM duckdb_constraints() c, cur
          WHERE c.database_name = cur.db AND c.schema_name <> 'main' AND c.constraint_type = 'FOREIGN KEY') f
    JOIN duckdb_columns() cc ON cc.database_name = f.database_name AND cc.schema_name = f.schema_name
                            AND cc.table_name = f.referenced_table AND cc.column_name = f.n
    GROUP BY f.schema_name, f.table_name, f.constraint_index)
SELECT duckraft_pg.main.duckraft_oid('c', c.schema_name || '.' || c.table_name || '.' || c.conname) AS oid,
       c.conname, duckraft_pg.main.duckraft_nsp_oid(c.schema_name) AS connamespace, c.contype,
       duckraft_pg.main.duckraft_oid('r', c.schema_name || '.' || c.table_name) AS conrelid,
       CASE WHEN c.contype IN ('p', 'u') THEN duckraft_pg.main.duckraft_oid('r', c.schema_name || '.' || c.conname)
            ELSE 0 END::UINTEGER AS conindid,
       CASE WHEN c.contype = 'f' THEN duckraft_pg.main.duckraft_oid('r', c.schema_name || '.' || c.referenced_table)
            ELSE 0 END::UINTEGER AS confrelid,
       list_transform(c.constraint_column_indexes, lambda x: (x + 1)::SMALLINT) AS conkey,
       fk.confkey, c.expression AS conbin, c.schema_name AS nspname, c.table_name AS relname,
       c.constraint_column_names AS colnames, c.referenced_table, c.referenced_column_names AS refcolnames
FROM c LEFT JOIN fk ON fk.schema_name = c.schema_name AND fk.table_name = c.table_name AND fk.constraint_index = c.constraint_index;

-- Each constraint's definition as pg_get_constraintdef() prints it; a view of its own, as binding the quoting
-- would make every use of duckraft_constraints (pg_constraint in each table lookup) pay for it.
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_constraint_defs AS
SELECT c.oid,
       CASE c.contype
           WHEN 'p' THEN 'PRIMARY KEY (' || array_to_string(list_transform(c.colnames, lambda x: duckraft_pg.main.quote_ident(x)), ', ') || ')'
           WHEN 'u' THEN 'UNIQUE (' || array_to_string(list_transform(c.colnames, lambda x: duckraft_pg.main.quote_ident(x)), ', ') || ')'
           WHEN 'c' THEN 'CHECK (' || c.conbin || ')'
           WHEN 'f' THEN 'FOREIGN KEY (' || array_to_string(list_transform(c.colnames, lambda x: duckraft_pg.main.quote_ident(x)), ', ')
                         || ') REFERENCES ' || duckraft_pg.main.quote_ident(c.referenced_table) || '('
                         || array_to_string(list_transform(c.refcolnames, lambda x: duckraft_pg.main.quote_ident(x)), ', ') || ')'
       END AS condef
FROM duckraft_pg.main.duckraft_constraints c;

-- Indexes: explicit DuckDB indexes and the implicit ones of PRIMARY KEY / UNIQUE constraints.
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_indexes AS
WITH cur AS (SELECT system.main.current_database() AS db),
explicit AS (
    SELECT i.schema_name, i.table_name, i.index_name, i.is_unique, false AS is_primary,
           list_transform(CAST(i.expressions AS VARCHAR[]), lambda e: trim(e, '"')) AS colnames
    FROM duckdb_indexes() i, cur WHERE i.database_name = cur.db AND i.schema_name <> 'main'),
implicit AS (
    SELECT c.nspname AS schema_name, c.relname AS table_name, c.conname AS index_name, true AS is_unique,
           c.contype = 'p' AS is_primary, c.colnames
    FROM duckraft_pg.main.duckraft_constraints c WHERE c.contype IN ('p', 'u')),
allidx AS (SELECT * FROM explicit UNION ALL SELECT * FROM implicit),
-- The key columns' numbers; without a LATERAL join, and from duckdb_columns() rather than duckraft_columns,
-- which made the view several times as expensive to plan.
keys AS (
    SELECT u.schema_name, u.index_name, list(coalesce(cc.column_index, 0)::SMALLINT ORDER BY u.pos) AS indkey
    FROM (SELECT a.schema_name, a.table_name, a.index_name, unnest(a.colnames) AS n,
                 unnest(range(len(a.colnames))) AS pos
          FROM allidx a) u
    LEFT JOIN duckdb_columns() cc
           ON cc.database_name = system.main.current_database() AND cc.schema_name = u.schema_name
          AND cc.table_name = u.table_name AND cc.column_name = u.n
    GROUP BY u.schema_name, u.index_name)
SELECT duckraft_pg.main.duckraft_oid('r', a.schema_name || '.' || a.index_name) AS indexrelid,
       duckraft_pg.main.duckraft_oid('r', a.schema_name || '.' || a.table_name) AS indrelid,
       a.schema_name, a.table_name, a.index_name, a.is_unique, a.is_primary, a.colnames, k.indkey,
       'CREATE ' || CASE WHEN a.is_unique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
           || duckraft_pg.main.quote_ident(a.index_name) || ' ON ' || duckraft_pg.main.quote_ident(a.schema_name) || '.'
           || duckraft_pg.main.quote_ident(a.table_name) || ' USING btree ('
           || array_to_string(list_transform(a.colnames, lambda x: duckraft_pg.main.quote_ident(x)), ', ') || ')' AS indexdef,
       'CREATE ' || CASE WHEN a.is_unique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
           || duckraft_pg.main.quote_ident(a.index_name) || ' ON ' || duckraft_pg.main.quote_ident(a.table_name)
           || ' USING btree ('
           || array_to_string(list_transform(a.colnames, lambda x: duckraft_pg.main.quote_ident(x)), ', ') || ')' AS indexdef_unqualified
FROM allidx a LEFT JOIN keys k ON k.schema_name = a.schema_name AND k.index_name = a.index_name;

-- All types: PostgreSQL built-ins + user enums + row types of user tables/views.
CREATE OR REPLACE VIEW duckraft_pg.main.pg_type AS
SELECT b.*, NULL::VARCHAR AS typdefaultbin, NULL::VARCHAR AS typdefault, NULL::VARCHAR[] AS typacl
FROM duckraft_pg.main.duckraft_builtin_types b
UNION ALL
SELECT e.oid, e.typname, e.typnamespace, 10, 4, true, 'e', 'E', false, true, ',', 0, '-', 0, 0,
       'enum_in', 'enum_out', 'enum_recv', 'enum_send', '-', '-', '-', 'i', 'p', false, 0, -1, 0, 0, NULL, NULL, NULL
FROM duckraft_pg.main.duckraft_enums e
UNION ALL
SELECT duckraft_pg.main.duckraft_oid('t', r.nspname || '.' || r.relname), r.relname,
       duckraft_pg.main.duckraft_nsp_oid(r.nspname), 10, -1, false, 'c', 'C', false, true, ',',
       duckraft_pg.main.duckraft_oid('r', r.nspname || '.' || r.relname), '-', 0, 0,
       'record_in', 'record_out', 'record_recv', 'record_send', '-', '-', '-', 'd', 'x', false, 0, -1, 0, 0,
       NULL, NULL, NULL
-- The row types of duckraft_relations' tables and views, read directly: cheaper to plan.
FROM (SELECT t.schema_name AS nspname, t.table_name AS relname FROM duckdb_tables() t
      WHERE t.database_name = system.main.current_database() AND t.schema_name <> 'main'
      UNION ALL
      SELECT v.schema_name, v.view_name FROM duckdb_views() v
      WHERE v.database_name = system.main.current_database() AND NOT v.internal AND v.schema_name <> 'main') r;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_namespace AS
SELECT s.oid::UINTEGER AS oid, s.nspname, 10::UINTEGER AS nspowner, NULL::VARCHAR[] AS nspacl
FROM duckraft_pg.main.duckraft_schemas s;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_class AS
SELECT r.oid, r.relname, r.relnamespace, r.reltype, 0::UINTEGER AS reloftype, 10::UINTEGER AS relowner, r.relam,
       CASE WHEN r.relkind IN ('r', 'i', 'S') THEN r.oid ELSE 0 END::UINTEGER AS relfilenode,
       0::UINTEGER AS reltablespace,
       0::INTEGER AS relpages, -- keep 0: the postgres scanner switches to ctid-range scans when relpages > 0
       r.reltuples, 0::INTEGER AS relallvisible, 0::UINTEGER AS reltoastrelid, r.relhasindex,
       false AS relisshared, r.relpersistence, r.relkind, r.relnatts, r.relchecks, false AS relhasrules,
       false AS relhastriggers, false AS relhassubclass, false AS relrowsecurity, false AS relforcerowsecurity,
       true AS relispopulated, CASE WHEN r.relkind IN ('r') THEN 'd' ELSE 'n' END AS relreplident,
       false AS relispartition, 0::UINTEGER AS relrewrite, 0::UINTEGER AS relfrozenxid, 0::UINTEGER AS relminmxid,
       NULL::VARCHAR[] AS relacl, NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound
FROM duckraft_pg.main.duckraft_relations r;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_attribute AS
SELECT c.attrelid, c.attname, c.atttypid, -1::INTEGER AS attstattarget,
       coalesce(t.typlen, -1)::SMALLINT AS attlen, c.attnum, c.attndims, -1::INTEGER AS attcacheoff,
       c.atttypmod, coalesce(t.typbyval, false) AS attbyval, coalesce(t.typalign, 'i') AS attalign,
       coalesce(t.typstorage, 'x') AS attstorage, '' AS attcompression, c.attnotnull,
       c.attdefault IS NOT NULL AS atthasdef, false AS atthasmissing, '' AS attidentity, '' AS attgenerated,
       false AS attisdropped, true AS attislocal, 0::INTEGER AS attinhcount,
       CASE WHEN t.typcollation <> 0 THEN 100 ELSE 0 END::UINTEGER AS attcollation,
       NULL::VARCHAR[] AS attacl, NULL::VARCHAR[] AS attoptions, NULL::VARCHAR[] AS attfdwoptions,
       NULL::VARCHAR AS attmissingval
FROM duckraft_pg.main.duckraft_columns c LEFT JOIN duckraft_pg.main.duckraft_builtin_types t ON t.oid = c.atttypid;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_attrdef AS
SELECT duckraft_pg.main.duckraft_oid('d', c.nspname || '.' || c.relname || '.' || c.attname) AS oid,
       c.attrelid AS adrelid, c.attnum AS adnum, c.attdefault AS adbin
FROM duckraft_pg.main.duckraft_columns c WHERE c.attdefault IS NOT NULL;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_constraint AS
SELECT c.oid, c.conname, c.connamespace, c.contype, false AS condeferrable, false AS condeferred,
       true AS convalidated, c.conrelid, 0::UINTEGER AS contypid, c.conindid, 0::UINTEGER AS conparentid,
       c.confrelid, CASE WHEN c.contype = 'f' THEN 'a' ELSE ' ' END AS confupdtype,
       CASE WHEN c.contype = 'f' THEN 'a' ELSE ' ' END AS confdeltype,
       CASE WHEN c.contype = 'f' THEN 's' ELSE ' ' END AS confmatchtype, true AS conislocal,
       0::INTEGER AS coninhcount, false AS connoinherit, c.conkey, c.confkey, NULL::UINTEGER[] AS conpfeqop,
       NULL::UINTEGER[] AS conppeqop, NULL::UINTEGER[] AS conffeqop, NULL::SMALLINT[] AS confdelsetcols,
       NULL::UINTEGER[] AS conexclop, c.conbin
FROM duckraft_pg.main.duckraft_constraints c;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_index AS
SELECT i.indexrelid, i.indrelid, len(i.indkey)::SMALLINT AS indnatts, len(i.indkey)::SMALLINT AS indnkeyatts,
       i.is_unique AS indisunique, false AS indnullsnotdistinct, i.is_primary AS indisprimary,
       false AS indisexclusion, true AS indimmediate, false AS indisclustered, true AS indisvalid,
       false AS indcheckxmin, true AS indisready, true AS indislive, false AS indisreplident,
       i.indkey, list_transform(i.indkey, lambda x: 0::UINTEGER) AS indcollation,
       list_transform(i.indkey, lambda x: 0::UINTEGER) AS indclass, list_transform(i.indkey, lambda x: 0::SMALLINT) AS indoption,
       NULL::VARCHAR AS indexprs, NULL::VARCHAR AS indpred
FROM duckraft_pg.main.duckraft_indexes i;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_indexes AS
SELECT i.schema_name AS schemaname, i.table_name AS tablename, i.index_name AS indexname,
       NULL::VARCHAR AS tablespace, i.indexdef
FROM duckraft_pg.main.duckraft_indexes i;

-- Straight from DuckDB's catalog functions rather than through duckraft_relations and duckraft_columns: the
-- postgres scanner joins this view twice into every table lookup, and only commented objects have rows.
CREATE OR REPLACE VIEW duckraft_pg.main.pg_description AS
WITH cur AS (SELECT system.main.current_database() AS db),
rels AS (
    SELECT t.schema_name, t.table_name AS relname, t.comment FROM duckdb_tables() t, cur
    WHERE t.database_name = cur.db AND t.schema_name <> 'main'
    UNION ALL
    SELECT v.schema_name, v.view_name, v.comment FROM duckdb_views() v, cur
    WHERE v.database_name = cur.db AND NOT v.internal AND v.schema_name <> 'main'
    UNION ALL
    SELECT s.schema_name, s.sequence_name, s.comment FROM duckdb_sequences() s, cur
    WHERE s.database_name = cur.db AND s.schema_name <> 'main'
    UNION ALL
    SELECT i.schema_name, i.index_name, i.comment FROM duckdb_indexes() i, cur
    WHERE i.database_name = cur.db AND i.schema_name <> 'main')
SELECT duckraft_pg.main.duckraft_oid('r', r.schema_name || '.' || r.relname)::UINTEGER AS objoid,
       1259::UINTEGER AS classoid, 0::INTEGER AS objsubid, r.comment AS description
FROM rels r WHERE r.comment IS NOT NULL AND r.comment <> ''
UNION ALL
SELECT duckraft_pg.main.duckraft_oid('r', c.schema_name || '.' || c.table_name)::UINTEGER, 1259,
       c.column_index::SMALLINT::INTEGER, c.comment
FROM duckdb_columns() c, cur
WHERE c.database_name = cur.db AND c.schema_name <> 'main' AND c.comment IS NOT NULL AND c.comment <> ''
UNION ALL
SELECT s.oid, 2615, 0, s.comment FROM duckraft_pg.main.duckraft_schemas s WHERE s.comment IS NOT NULL AND s.comment <> '';

CREATE OR REPLACE VIEW duckraft_pg.main.pg_enum AS
SELECT duckraft_pg.main.duckraft_oid('e', e.nspname || '.' || e.typname || '.' || l.label) AS oid,
       e.oid AS enumtypid, l.pos::REAL AS enumsortorder, l.label AS enumlabel
FROM duckraft_pg.main.duckraft_enums e,
     LATERAL (SELECT unnest(e.labels) AS label, unnest(range(1, len(e.labels) + 1)) AS pos) l;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_database AS
WITH d AS (
    SELECT datname, coalesce(oid, duckraft_pg.main.duckraft_oid('db', datname)) AS oid
    FROM duckraft_pg.main.duckraft_databases
    UNION ALL
    SELECT duckraft_pg.main.duckraft_datname(), duckraft_pg.main.duckraft_oid('db', duckraft_pg.main.duckraft_datname())
    WHERE duckraft_pg.main.duckraft_datname() NOT IN (SELECT datname FROM duckraft_pg.main.duckraft_databases))
SELECT d.oid::UINTEGER AS oid, d.datname, 10::UINTEGER AS datdba, 6::INTEGER AS encoding, 'c' AS datlocprovider,
       false AS datistemplate, true AS datallowconn, -1::INTEGER AS datconnlimit, 0::UINTEGER AS datfrozenxid,
       1::UINTEGER AS datminmxid, 1663::UINTEGER AS dattablespace, 'C.UTF-8' AS datcollate, 'C.UTF-8' AS datctype,
       NULL::VARCHAR AS daticulocale, NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl
FROM d;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_settings AS
SELECT b.name, coalesce(duckraft_pg.main.duckraft_session(b.name), b.setting) AS setting, b.unit, b.category,
       b.short_desc, NULL::VARCHAR AS extra_desc, b.context, b.vartype,
       CASE WHEN duckraft_pg.main.duckraft_session(b.name) IS NOT NULL THEN 'session' ELSE 'default' END AS source,
       b.min_val, b.max_val,
       CASE WHEN b.enumvals IS NULL THEN NULL ELSE string_split(trim(b.enumvals, '{}'), ',') END AS enumvals,
       b.boot_val, b.setting AS reset_val, NULL::VARCHAR AS sourcefile, NULL::INTEGER AS sourceline,
       false AS pending_restart
FROM duckraft_pg.main.duckraft_settings_base b;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_authid AS
SELECT r.oid, r.rolname, r.rolsuper, true AS rolinherit, r.rolsuper AS rolcreaterole, r.rolsuper AS rolcreatedb,
       r.rolcanlogin, r.rolsuper AS rolreplication, r.rolsuper AS rolbypassrls, -1::INTEGER AS rolconnlimit,
       NULL::VARCHAR AS rolpassword, NULL::TIMESTAMPTZ AS rolvaliduntil
FROM duckraft_pg.main.duckraft_roles r;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_roles AS
SELECT a.rolname, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin, a.rolreplication,
       a.rolconnlimit, '********' AS rolpassword, a.rolvaliduntil, a.rolbypassrls, NULL::VARCHAR[] AS rolconfig, a.oid
FROM duckraft_pg.main.pg_authid a;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_user AS
SELECT a.rolname AS usename, a.oid AS usesysid, a.rolcreatedb AS usecreatedb, a.rolsuper AS usesuper,
       a.rolreplication AS userepl, a.rolbypassrls AS usebypassrls, '********' AS passwd,
       a.rolvaliduntil AS valuntil, NULL::VARCHAR[] AS useconfig
FROM duckraft_pg.main.pg_authid a WHERE a.rolcanlogin;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_shadow AS
SELECT usename, usesysid, usecreatedb, usesuper, userepl, usebypassrls, NULL::VARCHAR AS passwd, valuntil, useconfig
FROM duckraft_pg.main.pg_user;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_auth_members AS
SELECT NULL::UINTEGER AS roleid, NULL::UINTEGER AS member, NULL::UINTEGER AS grantor, NULL::BOOLEAN AS admin_option
WHERE false;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_am AS
SELECT * FROM (VALUES (2::UINTEGER, 'heap', 'heap_tableam_handler', 't'), (403, 'btree', 'bthandler', 'i'),
    (405, 'hash', 'hashhandler', 'i'), (783, 'gist', 'gisthandler', 'i'), (2742, 'gin', 'ginhandler', 'i'),
    (4000, 'spgist', 'spghandler', 'i'), (3580, 'brin', 'brinhandler', 'i')) v(oid, amname, amhandler, amtype);

CREATE OR REPLACE VIEW duckraft_pg.main.pg_collation AS
SELECT * FROM (VALUES
    (100::UINTEGER, 'default', 11::UINTEGER, 10::UINTEGER, 'd', true, -1, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR),
    (950, 'C', 11, 10, 'c', true, -1, 'C', 'C', NULL, NULL),
    (951, 'POSIX', 11, 10, 'c', true, -1, 'POSIX', 'POSIX', NULL, NULL))
    v(oid, collname, collnamespace, collowner, collprovider, collisdeterministic, collencoding, collcollate,
      collctype, colliculocale, collversion);

CREATE OR REPLACE VIEW duckraft_pg.main.pg_tablespace AS
SELECT * FROM (VALUES (1663::UINTEGER, 'pg_default', 10::UINTEGER, NULL::VARCHAR[], NULL::VARCHAR[]),
                      (1664, 'pg_global', 10, NULL, NULL)) v(oid, spcname, spcowner, spcacl, spcoptions);

CREATE OR REPLACE VIEW duckraft_pg.main.pg_language AS
SELECT * FROM (VALUES (12::UINTEGER, 'internal', 10::UINTEGER, false, false, 0::UINTEGER, 0::UINTEGER, 2246::UINTEGER, NULL::VARCHAR[]),
                      (13, 'c', 10, false, false, 0, 0, 2247, NULL), (14, 'sql', 10, false, true, 0, 0, 2248, NULL))
    v(oid, lanname, lanowner, lanispl, lanpltrusted, lanplcallfoid, laninline, lanvalidator, lanacl);

CREATE OR REPLACE VIEW duckraft_pg.main.pg_proc AS
WITH f AS (
    SELECT DISTINCT ON (f.schema_name, f.function_name) f.schema_name, f.function_name, f.function_type,
           f.parameters, f.macro_definition, f.description
    FROM duckdb_functions() f
    WHERE f.database_name = system.main.current_database() AND NOT f.internal AND f.schema_name <> 'main')
SELECT duckraft_pg.main.duckraft_oid('p', f.schema_name || '.' || f.function_name) AS oid, f.function_name AS proname,
       duckraft_pg.main.duckraft_nsp_oid(f.schema_name) AS pronamespace, 10::UINTEGER AS proowner,
       14::UINTEGER AS prolang, 100::REAL AS procost, CASE WHEN f.function_type LIKE 'table%' THEN 1000 ELSE 0 END::REAL AS prorows,
       0::UINTEGER AS provariadic, '-' AS prosupport, 'f' AS prokind, false AS prosecdef, false AS proleakproof,
       false AS proisstrict, f.function_type LIKE 'table%' AS proretset, 'v' AS provolatile, 'u' AS proparallel,
       len(f.parameters)::SMALLINT AS pronargs, 0::SMALLINT AS pronargdefaults,
       CASE WHEN f.function_type LIKE 'table%' THEN 2249 ELSE 2283 END::UINTEGER AS prorettype,
       list_transform(f.parameters, lambda x: 2283::UINTEGER) AS proargtypes, NULL::UINTEGER[] AS proallargtypes,
       NULL::VARCHAR[] AS proargmodes, f.parameters AS proargnames, NULL::VARCHAR AS proargdefaults,
       NULL::UINTEGER[] AS protrftypes, f.macro_definition AS prosrc, NULL::VARCHAR AS probin,
       NULL::VARCHAR AS prosqlbody, NULL::VARCHAR[] AS proconfig, NULL::VARCHAR[] AS proacl
FROM f;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_sequence AS
SELECT duckraft_pg.main.duckraft_oid('r', s.schema_name || '.' || s.sequence_name) AS seqrelid, 20::UINTEGER AS seqtypid,
       s.start_value AS seqstart, s.increment_by AS seqincrement, s.max_value AS seqmax, s.min_value AS seqmin,
       1::BIGINT AS seqcache, s.cycle AS seqcycle
FROM duckdb_sequences() s WHERE s.database_name = system.main.current_database() AND s.schema_name <> 'main';

CREATE OR REPLACE VIEW duckraft_pg.main.pg_sequences AS
SELECT s.schema_name AS schemaname, s.sequence_name AS sequencename, duckraft_pg.main.duckraft_user() AS sequenceowner,
       'bigint' AS data_type, s.start_value, s.min_value, s.max_value, s.increment_by, s.cycle, 1::BIGINT AS cache_size,
       s.last_value
FROM duckdb_sequences() s WHERE s.database_name = system.main.current_database() AND s.schema_name <> 'main';

CREATE OR REPLACE VIEW duckraft_pg.main.pg_tables AS
SELECT r.nspname AS schemaname, r.relname AS tablename, duckraft_pg.main.duckraft_user() AS tableowner,
       NULL::VARCHAR AS tablespace, r.relhasindex AS hasindexes, false AS hasrules, false AS hastriggers,
       false AS rowsecurity
FROM duckraft_pg.main.duckraft_relations r WHERE r.relkind = 'r';

CREATE OR REPLACE VIEW duckraft_pg.main.pg_views AS
SELECT r.nspname AS schemaname, r.relname AS viewname, duckraft_pg.main.duckraft_user() AS viewowner,
       r.viewdef AS definition
FROM duckraft_pg.main.duckraft_relations r WHERE r.relkind = 'v' AND r.nspname <> 'pg_catalog';

CREATE OR REPLACE VIEW duckraft_pg.main.pg_matviews AS
SELECT NULL::VARCHAR AS schemaname, NULL::VARCHAR AS matviewname, NULL::VARCHAR AS matviewowner,
       NULL::VARCHAR AS tablespace, NULL::BOOLEAN AS hasindexes, NULL::BOOLEAN AS ispopulated, NULL::VARCHAR AS definition
WHERE false;

CREATE OR REPLACE VIEW duckraft_pg.main.pg_stat_user_tables AS
SELECT r.oid AS relid, r.nspname AS schemaname, r.relname, 0::BIGINT AS seq_scan, 0::BIGINT AS seq_tup_read,
       0::BIGINT AS idx_scan, 0::BIGINT AS idx_tup_fetch, 0::BIGINT AS n_tup_ins, 0::BIGINT AS n_tup_upd,
       0::BIGINT AS n_tup_del, 0::BIGINT AS n_tup_hot_upd, r.reltuples::BIGINT AS n_live_tup, 0::BIGINT AS n_dead_tup,
       0::BIGINT AS n_mod_since_analyze, 0::BIGINT AS n_ins_since_vacuum, NULL::TIMESTAMPTZ AS last_vacuum,
       NULL::TIMESTAMPTZ AS last_autovacuum, NULL::TIMESTAMPTZ AS last_analyze, NULL::TIMESTAMPTZ AS last_autoanalyze,
       0::BIGINT AS vacuum_count, 0::BIGINT AS autovacuum_count, 0::BIGINT AS analyze_count,
       0::BIGINT AS autoanalyze_count
FROM duckraft_pg.main.duckraft_relations r WHERE r.relkind = 'r';

CREATE OR REPLACE VIEW duckraft_pg.main.pg_stat_activity AS
SELECT d.oid AS datid, d.datname, try_cast(duckraft_pg.main.duckraft_session('backend_pid') AS INTEGER) AS pid,
       NULL::INTEGER AS leader_pid, 10::UINTEGER AS usesysid, duckraft_pg.main.duckraft_user() AS usename,
       coalesce(duckraft_pg.main.duckraft_session('application_name'), '') AS application_name,
       NULL::VARCHAR AS client_addr, NULL::VARCHAR AS client_hostname, NULL::INTEGER AS client_port,
       NULL::TIMESTAMPTZ AS backend_start, NULL::TIMESTAMPTZ AS xact_start, now() AS query_start,
       now() AS state_change, NULL::VARCHAR AS wait_event_type, NULL::VARCHAR AS wait_event, 'active' AS state,
       NULL::UINTEGER AS backend_xid, NULL::UINTEGER AS backend_xmin, NULL::BIGINT AS query_id, '' AS query,
       'client backend' AS backend_type
FROM duckraft_pg.main.pg_database d WHERE d.datname = duckraft_pg.main.duckraft_datname();

CREATE OR REPLACE VIEW duckraft_pg.main.pg_stat_database AS
SELECT d.oid AS datid, d.datname, 0::INTEGER AS numbackends, 0::BIGINT AS xact_commit, 0::BIGINT AS xact_rollback,
       0::BIGINT AS blks_read, 0::BIGINT AS blks_hit, 0::BIGINT AS tup_returned, 0::BIGINT AS tup_fetched,
       0::BIGINT AS tup_inserted, 0::BIGINT AS tup_updated, 0::BIGINT AS tup_deleted, 0::BIGINT AS conflicts,
       0::BIGINT AS temp_files, 0::BIGINT AS temp_bytes, 0::BIGINT AS deadlocks, NULL::BIGINT AS checksum_failures,
       NULL::TIMESTAMPTZ AS checksum_last_failure, 0::DOUBLE AS blk_read_time, 0::DOUBLE AS blk_write_time,
       0::DOUBLE AS session_time, 0::DOUBLE AS active_time, 0::DOUBLE AS idle_in_transaction_time,
       0::BIGINT AS sessions, 0::BIGINT AS sessions_abandoned, 0::BIGINT AS sessions_fatal, 0::BIGINT AS sessions_killed,
       NULL::TIMESTAMPTZ AS stats_reset
FROM duckraft_pg.main.pg_database d;

-- Catalogs that are always empty in duckraft.
CREATE OR REPLACE VIEW duckraft_pg.main.pg_inherits AS
SELECT NULL::UINTEGER AS inhrelid, NULL::UINTEGER AS inhparent, NULL::INTEGER AS inhseqno,
       NULL::BOOLEAN AS inhdetachpending WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_policy AS
SELECT NULL::UINTEGER AS oid, NULL::VARCHAR AS polname, NULL::UINTEGER AS polrelid, NULL::VARCHAR AS polcmd,
       NULL::BOOLEAN AS polpermissive, NULL::UINTEGER[] AS polroles, NULL::VARCHAR AS polqual,
       NULL::VARCHAR AS polwithcheck WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_statistic_ext AS
SELECT NULL::UINTEGER AS oid, NULL::UINTEGER AS stxrelid, NULL::VARCHAR AS stxname, NULL::UINTEGER AS stxnamespace,
       NULL::UINTEGER AS stxowner, NULL::INTEGER AS stxstattarget, NULL::SMALLINT[] AS stxkeys,
       NULL::VARCHAR[] AS stxkind, NULL::VARCHAR AS stxexprs WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_publication AS
SELECT NULL::UINTEGER AS oid, NULL::VARCHAR AS pubname, NULL::UINTEGER AS pubowner, NULL::BOOLEAN AS puballtables,
       NULL::BOOLEAN AS pubinsert, NULL::BOOLEAN AS pubupdate, NULL::BOOLEAN AS pubdelete,
       NULL::BOOLEAN AS pubtruncate, NULL::BOOLEAN AS pubviaroot WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_publication_rel AS
SELECT NULL::UINTEGER AS oid, NULL::UINTEGER AS prpubid, NULL::UINTEGER AS prrelid, NULL::VARCHAR AS prqual,
       NULL::SMALLINT[] AS prattrs WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_publication_namespace AS
SELECT NULL::UINTEGER AS oid, NULL::UINTEGER AS pnpubid, NULL::UINTEGER AS pnnspid WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_trigger AS
SELECT NULL::UINTEGER AS oid, NULL::UINTEGER AS tgrelid, NULL::UINTEGER AS tgparentid, NULL::VARCHAR AS tgname,
       NULL::UINTEGER AS tgfoid, NULL::SMALLINT AS tgtype, NULL::VARCHAR AS tgenabled, NULL::BOOLEAN AS tgisinternal,
       NULL::UINTEGER AS tgconstrrelid, NULL::UINTEGER AS tgconstrindid, NULL::UINTEGER AS tgconstraint,
       NULL::BOOLEAN AS tgdeferrable, NULL::BOOLEAN AS tginitdeferred, NULL::SMALLINT AS tgnargs,
       NULL::SMALLINT[] AS tgattr, NULL::BLOB AS tgargs, NULL::VARCHAR AS tgqual, NULL::VARCHAR AS tgoldtable,
       NULL::VARCHAR AS tgnewtable WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_rewrite AS
SELECT NULL::UINTEGER AS oid, NULL::VARCHAR AS rulename, NULL::UINTEGER AS ev_class, NULL::VARCHAR AS ev_type,
       NULL::VARCHAR AS ev_enabled, NULL::BOOLEAN AS is_instead, NULL::VARCHAR AS ev_qual,
       NULL::VARCHAR AS ev_action WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_range AS
SELECT NULL::UINTEGER AS rngtypid, NULL::UINTEGER AS rngsubtype, NULL::UINTEGER AS rngmultitypid,
       NULL::UINTEGER AS rngcollation, NULL::UINTEGER AS rngsubopc, NULL::VARCHAR AS rngcanonical,
       NULL::VARCHAR AS rngsubdiff WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_depend AS
SELECT NULL::UINTEGER AS classid, NULL::UINTEGER AS objid, NULL::INTEGER AS objsubid, NULL::UINTEGER AS refclassid,
       NULL::UINTEGER AS refobjid, NULL::INTEGER AS refobjsubid, NULL::VARCHAR AS deptype WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_shdescription AS
SELECT NULL::UINTEGER AS objoid, NULL::UINTEGER AS classoid, NULL::VARCHAR AS description WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_extension AS
SELECT NULL::UINTEGER AS oid, NULL::VARCHAR AS extname, NULL::UINTEGER AS extowner, NULL::UINTEGER AS extnamespace,
       NULL::BOOLEAN AS extrelocatable, NULL::VARCHAR AS extversion, NULL::UINTEGER[] AS extconfig,
       NULL::VARCHAR[] AS extcondition WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_partitioned_table AS
SELECT NULL::UINTEGER AS partrelid, NULL::VARCHAR AS partstrat, NULL::SMALLINT AS partnatts, NULL::UINTEGER AS partdefid,
       NULL::SMALLINT[] AS partattrs, NULL::UINTEGER[] AS partclass, NULL::UINTEGER[] AS partcollation,
       NULL::VARCHAR AS partexprs WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_foreign_table AS
SELECT NULL::UINTEGER AS ftrelid, NULL::UINTEGER AS ftserver, NULL::VARCHAR[] AS ftoptions WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_event_trigger AS
SELECT NULL::UINTEGER AS oid, NULL::VARCHAR AS evtname, NULL::VARCHAR AS evtevent, NULL::UINTEGER AS evtowner,
       NULL::UINTEGER AS evtfoid, NULL::VARCHAR AS evtenabled, NULL::VARCHAR[] AS evttags WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_locks AS
SELECT NULL::VARCHAR AS locktype, NULL::UINTEGER AS database, NULL::UINTEGER AS relation, NULL::INTEGER AS page,
       NULL::SMALLINT AS tuple, NULL::VARCHAR AS virtualxid, NULL::UINTEGER AS transactionid, NULL::UINTEGER AS classid,
       NULL::UINTEGER AS objid, NULL::SMALLINT AS objsubid, NULL::VARCHAR AS virtualtransaction, NULL::INTEGER AS pid,
       NULL::VARCHAR AS mode, NULL::BOOLEAN AS granted, NULL::BOOLEAN AS fastpath, NULL::TIMESTAMPTZ AS waitstart
WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_prepared_xacts AS
SELECT NULL::UINTEGER AS "transaction", NULL::VARCHAR AS gid, NULL::TIMESTAMPTZ AS prepared, NULL::VARCHAR AS owner,
       NULL::VARCHAR AS database WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_stat_wal_receiver AS
SELECT NULL::INTEGER AS pid, NULL::VARCHAR AS status WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_available_extensions AS
SELECT NULL::VARCHAR AS name, NULL::VARCHAR AS default_version, NULL::VARCHAR AS installed_version,
       NULL::VARCHAR AS comment WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_cast AS
SELECT NULL::UINTEGER AS oid, NULL::UINTEGER AS castsource, NULL::UINTEGER AS casttarget, NULL::UINTEGER AS castfunc,
       NULL::VARCHAR AS castcontext, NULL::VARCHAR AS castmethod WHERE false;
CREATE OR REPLACE VIEW duckraft_pg.main.pg_operator AS
SELECT NULL::UINTEGER AS oid, NULL::VARCHAR AS oprname, NULL::UINTEGER AS oprnamespace, NULL::UINTEGER AS oprowner,
       NULL::VARCHAR AS oprkind, NULL::BOOLEAN AS oprcanmerge, NULL::BOOLEAN AS oprcanhash, NULL::UINTEGER AS oprleft,
       NULL::UINTEGER AS oprright, NULL::UINTEGER AS oprresult, NULL::UINTEGER AS oprcom, NULL::UINTEGER AS oprnegate,
       NULL::VARCHAR AS oprcode, NULL::VARCHAR AS oprrest, NULL::VARCHAR AS oprjoin WHERE false;

-- ---------------------------------------------------------------------------------------------------------------
-- Functions (macros). Unqualified calls resolve here before DuckDB's system.main / system.pg_catalog versions.
-- Bodies qualify everything: a macro body is bound in the caller's search path.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE MACRO duckraft_pg.main.version() AS
    'PostgreSQL ' || (SELECT server_version FROM duckraft_pg.main.duckraft_instance LIMIT 1)
    || ' (duckraft ' || (SELECT duckraft_version FROM duckraft_pg.main.duckraft_instance LIMIT 1)
    || ') on x86_64-pc-linux-gnu, compiled by rustc, 64-bit';

CREATE OR REPLACE MACRO duckraft_pg.main.current_setting(n) AS
    coalesce(duckraft_pg.main.duckraft_session(n),
             (SELECT __cs2_b.setting FROM duckraft_pg.main.duckraft_settings_base __cs2_b WHERE lower(__cs2_b.name) = lower(n))),
    (n, missing_ok) AS
    coalesce(duckraft_pg.main.duckraft_session(n),
             (SELECT __cs2_b.setting FROM duckraft_pg.main.duckraft_settings_base __cs2_b WHERE lower(__cs2_b.name) = lower(n)));
-- to_char of dates and times with PostgreSQL's numeric template patterns, in strftime's spelling. A template with
-- any other pattern (FM, Month, Day, quoted text, ...), or a number to format, is an error, never a different text.
CREATE OR REPLACE MACRO duckraft_pg.main.to_char(value, template) AS
    CASE WHEN regexp_matches(regexp_replace(template, 'HH24|HH12|HH|YYYY|YY|MM|DD|MI|SS|MS|US', '', 'g'), '[A-Za-z"]')
        THEN error('to_char template "' || template || '" is not supported by duckraft: it provides the patterns '
                   || 'YYYY YY MM DD HH24 HH12 HH MI SS MS US')
        ELSE strftime(value,
            replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
                replace(template, '%', '%%'),
                'HH24', '%H'), 'HH12', '%I'), 'HH', '%I'), 'YYYY', '%Y'), 'YY', '%y'), 'MS', '%g'),
                'US', '%f'), 'MI', '%M'), 'SS', '%S'), 'MM', '%m'), 'DD', '%d'))
    END;
-- set_config cannot change session state from SQL; the server intercepts it (REWRITE_RULES.md). Returns the value.
CREATE OR REPLACE MACRO duckraft_pg.main.set_config(n, v, is_local) AS v::VARCHAR;

CREATE OR REPLACE MACRO duckraft_pg.main.current_database() AS duckraft_pg.main.duckraft_datname();
CREATE OR REPLACE MACRO duckraft_pg.main.current_catalog() AS duckraft_pg.main.duckraft_datname();
CREATE OR REPLACE MACRO duckraft_pg.main.current_schema() AS system.main.current_schema();
CREATE OR REPLACE MACRO duckraft_pg.main.current_schemas(include_implicit) AS
    CASE WHEN include_implicit THEN ['pg_catalog', system.main.current_schema()] ELSE [system.main.current_schema()] END;
CREATE OR REPLACE MACRO duckraft_pg.main.current_user() AS duckraft_pg.main.duckraft_user();
CREATE OR REPLACE MACRO duckraft_pg.main.session_user() AS duckraft_pg.main.duckraft_user();
CREATE OR REPLACE MACRO duckraft_pg.main.current_role() AS duckraft_pg.main.duckraft_user();
CREATE OR REPLACE MACRO duckraft_pg.main.pg_backend_pid() AS
    coalesce(try_cast(duckraft_pg.main.duckraft_session('backend_pid') AS INTEGER), 0);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_postmaster_start_time() AS
    (SELECT started_at FROM duckraft_pg.main.duckraft_instance LIMIT 1);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_is_in_recovery() AS false;
CREATE OR REPLACE MACRO duckraft_pg.main.statement_timestamp() AS now();
CREATE OR REPLACE MACRO duckraft_pg.main.clock_timestamp() AS get_current_timestamp();
CREATE OR REPLACE MACRO duckraft_pg.main.timeofday() AS strftime(get_current_timestamp(), '%a %b %d %H:%M:%S.%f %Y %Z');
CREATE OR REPLACE MACRO duckraft_pg.main.pg_encoding_to_char(e) AS CASE e WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_char_to_encoding(s) AS CASE upper(s) WHEN 'UTF8' THEN 6 WHEN 'SQL_ASCII' THEN 0 ELSE -1 END;
CREATE OR REPLACE MACRO duckraft_pg.main.getdatabaseencoding() AS 'UTF8';
CREATE OR REPLACE MACRO duckraft_pg.main.pg_client_encoding() AS 'UTF8';

-- Visibility / privileges: no access control below the connection level.
CREATE OR REPLACE MACRO duckraft_pg.main.pg_table_is_visible(rel) AS
    coalesce((SELECT __ptiv3_r.nspname = 'pg_catalog' OR list_contains(
                  string_split(replace(replace(coalesce(duckraft_pg.main.duckraft_session('search_path'), 'public'),
                                       ' ', ''), '"', ''), ','), __ptiv3_r.nspname)
              FROM duckraft_pg.main.duckraft_relations __ptiv3_r WHERE __ptiv3_r.oid = rel), false);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_type_is_visible(t) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_function_is_visible(f) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_table_privilege(a) AS true, (a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_schema_privilege(a) AS true, (a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_database_privilege(a) AS true, (a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_column_privilege(a, b) AS true, (a, b, c) AS true, (a, b, c, d) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_sequence_privilege(a) AS true, (a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_function_privilege(a) AS true, (a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.has_any_column_privilege(a) AS true, (a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_has_role(a, b) AS true, (a, b, c) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_userbyid(id) AS
    coalesce((SELECT __pgu4_r.rolname FROM duckraft_pg.main.duckraft_roles __pgu4_r WHERE __pgu4_r.oid = id), 'unknown (OID=' || id || ')');

-- regclass / regtype / regnamespace / regproc / regrole: *_in(text) -> oid, *_out(oid) -> name (see REWRITE_RULES.md).
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_unquote(s) AS
    CASE WHEN s LIKE '"%"' THEN replace(s[2:-2], '""', '"') ELSE lower(s) END;
CREATE OR REPLACE MACRO duckraft_pg.main.regclass_in(s) AS (
    SELECT __ri5_r.oid FROM duckraft_pg.main.duckraft_relations __ri5_r
    WHERE CASE WHEN regexp_matches(s::VARCHAR, '^\s*\d+\s*$') THEN __ri5_r.oid = trim(s::VARCHAR)::UINTEGER
               WHEN regexp_matches(s::VARCHAR, '^("[^"]*"|[^".]+)\.("[^"]*"|[^".]+)$') THEN
                    __ri5_r.nspname = duckraft_pg.main.duckraft_unquote(regexp_extract(s::VARCHAR, '^("[^"]*"|[^".]+)\.(.+)$', 1))
                AND __ri5_r.relname = duckraft_pg.main.duckraft_unquote(regexp_extract(s::VARCHAR, '^("[^"]*"|[^".]+)\.(.+)$', 2))
               ELSE __ri5_r.relname = duckraft_pg.main.duckraft_unquote(s::VARCHAR) AND duckraft_pg.main.pg_table_is_visible(__ri5_r.oid)
          END
    ORDER BY __ri5_r.nspname <> 'pg_catalog' LIMIT 1);
CREATE OR REPLACE MACRO duckraft_pg.main.to_regclass(s) AS duckraft_pg.main.regclass_in(s);
CREATE OR REPLACE MACRO duckraft_pg.main.regclass_out(o) AS
    coalesce((SELECT CASE WHEN duckraft_pg.main.pg_table_is_visible(__ro6_r.oid) THEN duckraft_pg.main.quote_ident(__ro6_r.relname)
                          ELSE duckraft_pg.main.quote_ident(__ro6_r.nspname) || '.' || duckraft_pg.main.quote_ident(__ro6_r.relname) END
              FROM duckraft_pg.main.duckraft_relations __ro6_r WHERE __ro6_r.oid = o), o::VARCHAR);
CREATE OR REPLACE MACRO duckraft_pg.main.regnamespace_in(s) AS
    (SELECT __ri7_n.oid FROM duckraft_pg.main.pg_namespace __ri7_n WHERE __ri7_n.nspname = duckraft_pg.main.duckraft_unquote(s::VARCHAR));
CREATE OR REPLACE MACRO duckraft_pg.main.to_regnamespace(s) AS duckraft_pg.main.regnamespace_in(s);
CREATE OR REPLACE MACRO duckraft_pg.main.regnamespace_out(o) AS
    coalesce((SELECT duckraft_pg.main.quote_ident(__ro8_n.nspname) FROM duckraft_pg.main.pg_namespace __ro8_n WHERE __ro8_n.oid = o), o::VARCHAR);
CREATE OR REPLACE MACRO duckraft_pg.main.regrole_in(s) AS
    (SELECT __ri9_r.oid FROM duckraft_pg.main.duckraft_roles __ri9_r WHERE __ri9_r.rolname = duckraft_pg.main.duckraft_unquote(s::VARCHAR));
CREATE OR REPLACE MACRO duckraft_pg.main.to_regrole(s) AS duckraft_pg.main.regrole_in(s);
CREATE OR REPLACE MACRO duckraft_pg.main.regrole_out(o) AS
    coalesce((SELECT __ro10_r.rolname FROM duckraft_pg.main.duckraft_roles __ro10_r WHERE __ro10_r.oid = o), o::VARCHAR);
CREATE OR REPLACE MACRO duckraft_pg.main.regproc_in(s) AS
    (SELECT min(__ri11_p.oid) FROM duckraft_pg.main.pg_proc __ri11_p WHERE __ri11_p.proname = duckraft_pg.main.duckraft_unquote(s::VARCHAR));
CREATE OR REPLACE MACRO duckraft_pg.main.to_regproc(s) AS duckraft_pg.main.regproc_in(s);
CREATE OR REPLACE MACRO duckraft_pg.main.regproc_out(o) AS
    coalesce((SELECT __ro12_p.proname FROM duckraft_pg.main.pg_proc __ro12_p WHERE __ro12_p.oid = o), CASE WHEN o = 0 THEN '-' ELSE o::VARCHAR END);

-- format_type(type_oid, typmod) with PostgreSQL's output rules.
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_format_base(t, m) AS (
    SELECT CASE
        WHEN t IS NULL THEN NULL
        WHEN __dfb13_ty.oid IS NULL THEN '???'
        WHEN t = 1043 THEN 'character varying' || CASE WHEN m > 4 THEN '(' || (m - 4) || ')' ELSE '' END
        WHEN t = 1042 THEN 'character' || CASE WHEN m > 4 THEN '(' || (m - 4) || ')' ELSE '' END
        WHEN t = 1700 THEN 'numeric' || CASE WHEN m >= 4 THEN '(' || (((m - 4) >> 16) & 65535) || ',' || ((m - 4) & 65535) || ')' ELSE '' END
        WHEN t = 1114 THEN 'timestamp' || CASE WHEN m >= 0 THEN '(' || m || ')' ELSE '' END || ' without time zone'
        WHEN t = 1184 THEN 'timestamp' || CASE WHEN m >= 0 THEN '(' || m || ')' ELSE '' END || ' with time zone'
        WHEN t = 1083 THEN 'time' || CASE WHEN m >= 0 THEN '(' || m || ')' ELSE '' END || ' without time zone'
        WHEN t = 1266 THEN 'time' || CASE WHEN m >= 0 THEN '(' || m || ')' ELSE '' END || ' with time zone'
        WHEN t = 1560 THEN 'bit' || CASE WHEN m >= 0 THEN '(' || m || ')' ELSE '' END
        WHEN t = 1562 THEN 'bit varying' || CASE WHEN m >= 0 THEN '(' || m || ')' ELSE '' END
        WHEN __dfb13_d.display IS NOT NULL THEN __dfb13_d.display
        WHEN __dfb13_ty.typnamespace NOT IN (11, 2200) THEN duckraft_pg.main.quote_ident(__dfb13_n.nspname) || '.' || duckraft_pg.main.quote_ident(__dfb13_ty.typname)
        ELSE duckraft_pg.main.quote_ident(__dfb13_ty.typname) END
    FROM (SELECT 1) __dfb13_dummy
    LEFT JOIN duckraft_pg.main.pg_type __dfb13_ty ON __dfb13_ty.oid = t
    LEFT JOIN duckraft_pg.main.duckraft_type_display __dfb13_d ON __dfb13_d.oid = t
    LEFT JOIN duckraft_pg.main.pg_namespace __dfb13_n ON __dfb13_n.oid = __dfb13_ty.typnamespace);
CREATE OR REPLACE MACRO duckraft_pg.main.format_type(t, m) AS (
    SELECT CASE WHEN __ft14_ty.typcategory = 'A' AND __ft14_ty.typelem <> 0
                THEN duckraft_pg.main.duckraft_format_base(__ft14_ty.typelem, m) || '[]'
                ELSE duckraft_pg.main.duckraft_format_base(t, m) END
    FROM (SELECT 1) __ft14_dummy LEFT JOIN duckraft_pg.main.duckraft_builtin_types __ft14_ty ON __ft14_ty.oid = t);
CREATE OR REPLACE MACRO duckraft_pg.main.regtype_out(t) AS
    CASE WHEN t = 0 THEN '-' ELSE duckraft_pg.main.format_type(t, NULL) END;
CREATE OR REPLACE MACRO duckraft_pg.main.regtype_in(s) AS (
    SELECT min(__ri15_ty.oid) FROM duckraft_pg.main.pg_type __ri15_ty
    WHERE __ri15_ty.typname = duckraft_pg.main.duckraft_unquote(s::VARCHAR)
       OR duckraft_pg.main.format_type(__ri15_ty.oid, NULL) = lower(trim(s::VARCHAR))
       OR (lower(trim(s::VARCHAR)) IN ('int', 'int4') AND __ri15_ty.oid = 23)
       OR (lower(trim(s::VARCHAR)) IN ('float', 'float8') AND __ri15_ty.oid = 701)
       OR (lower(trim(s::VARCHAR)) IN ('varchar', 'character varying') AND __ri15_ty.oid = 1043)
       OR (lower(trim(s::VARCHAR)) = 'timestamptz' AND __ri15_ty.oid = 1184)
       OR (lower(trim(s::VARCHAR)) = 'decimal' AND __ri15_ty.oid = 1700)
       OR (lower(trim(s::VARCHAR)) = 'bool' AND __ri15_ty.oid = 16));
CREATE OR REPLACE MACRO duckraft_pg.main.to_regtype(s) AS duckraft_pg.main.regtype_in(s);

-- Deparsers over the helper views.
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_expr(e, rel) AS e::VARCHAR, (e, rel, pretty) AS e::VARCHAR;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_constraintdef(c) AS
    (SELECT __pgc16_x.condef FROM duckraft_pg.main.duckraft_constraint_defs __pgc16_x WHERE __pgc16_x.oid = c),
    (c, pretty) AS (SELECT __pgc16_x.condef FROM duckraft_pg.main.duckraft_constraint_defs __pgc16_x WHERE __pgc16_x.oid = c);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_indexdef(i) AS
    (SELECT __pgi17_x.indexdef FROM duckraft_pg.main.duckraft_indexes __pgi17_x WHERE __pgi17_x.indexrelid = i),
    (i, col, pretty) AS (SELECT CASE WHEN col <> 0 THEN duckraft_pg.main.quote_ident(__pgi17_x.colnames[col])
                                     WHEN pretty AND duckraft_pg.main.pg_table_is_visible(__pgi17_x.indrelid)
                                     THEN __pgi17_x.indexdef_unqualified ELSE __pgi17_x.indexdef END
                         FROM duckraft_pg.main.duckraft_indexes __pgi17_x WHERE __pgi17_x.indexrelid = i);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_viewdef(v) AS
    (SELECT regexp_replace(__pgv18_r.viewdef, '^CREATE VIEW .*? AS ', '') FROM duckraft_pg.main.duckraft_relations __pgv18_r WHERE __pgv18_r.oid = v),
    (v, pretty) AS (SELECT regexp_replace(__pgv18_r.viewdef, '^CREATE VIEW .*? AS ', '') FROM duckraft_pg.main.duckraft_relations __pgv18_r WHERE __pgv18_r.oid = v);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_function_result(f) AS
    (SELECT CASE WHEN __pgfr19_p.proretset THEN 'SETOF record' ELSE 'anyelement' END FROM duckraft_pg.main.pg_proc __pgfr19_p WHERE __pgfr19_p.oid = f);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_function_arguments(f) AS
    (SELECT array_to_string(__pgfa20_p.proargnames, ', ') FROM duckraft_pg.main.pg_proc __pgfa20_p WHERE __pgfa20_p.oid = f);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_function_identity_arguments(f) AS duckraft_pg.main.pg_get_function_arguments(f);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_statisticsobjdef_columns(o) AS NULL::VARCHAR;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_partkeydef(o) AS NULL::VARCHAR;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_triggerdef(o) AS NULL::VARCHAR, (o, pretty) AS NULL::VARCHAR;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_ruledef(o) AS NULL::VARCHAR, (o, pretty) AS NULL::VARCHAR;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_get_serial_sequence(t, c) AS NULL::VARCHAR;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_relation_is_publishable(o) AS false;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_tablespace_location(o) AS '';
CREATE OR REPLACE MACRO duckraft_pg.main.obj_description(o) AS NULL::VARCHAR,
    (o, cat) AS (SELECT min(__od21_d.description) FROM duckraft_pg.main.pg_description __od21_d WHERE __od21_d.objoid = o AND __od21_d.objsubid = 0);
CREATE OR REPLACE MACRO duckraft_pg.main.col_description(o, n) AS
    (SELECT min(__cd22_d.description) FROM duckraft_pg.main.pg_description __cd22_d WHERE __cd22_d.objoid = o AND __cd22_d.objsubid = n);
CREATE OR REPLACE MACRO duckraft_pg.main.shobj_description(o, cat) AS NULL::VARCHAR;

-- Sizes: DuckDB has no per-table size; report the row estimate times 100 bytes so that pg_size_pretty is plausible.
CREATE OR REPLACE MACRO duckraft_pg.main.pg_table_size(o) AS
    coalesce((SELECT (__pts23_r.reltuples * 100)::BIGINT FROM duckraft_pg.main.duckraft_relations __pts23_r WHERE __pts23_r.oid = o), 0);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_relation_size(o) AS duckraft_pg.main.pg_table_size(o),
    (o, fork) AS duckraft_pg.main.pg_table_size(o);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_total_relation_size(o) AS duckraft_pg.main.pg_table_size(o);
CREATE OR REPLACE MACRO duckraft_pg.main.pg_indexes_size(o) AS 0::BIGINT;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_database_size(d) AS
    (SELECT sum(total_blocks * block_size)::BIGINT FROM pragma_database_size() WHERE database_name = system.main.current_database());
CREATE OR REPLACE MACRO duckraft_pg.main.pg_size_pretty(b) AS
    CASE WHEN b IS NULL THEN NULL
         WHEN abs(b) < 10240 THEN b::BIGINT || ' bytes'
         WHEN abs(b) < 10485760 THEN round(b / 1024)::BIGINT || ' kB'
         WHEN abs(b) < 10737418240 THEN round(b / 1048576)::BIGINT || ' MB'
         WHEN abs(b) < 10995116277760 THEN round(b / 1073741824)::BIGINT || ' GB'
         ELSE round(b / 1099511627776)::BIGINT || ' TB' END;

-- Arrays (DuckDB lists are 1-based like PostgreSQL arrays; one dimension).
CREATE OR REPLACE MACRO duckraft_pg.main.array_upper(a, d) AS CASE WHEN d = 1 AND len(a) > 0 THEN len(a) END;
CREATE OR REPLACE MACRO duckraft_pg.main.array_lower(a, d) AS CASE WHEN d = 1 AND len(a) > 0 THEN 1 END;
CREATE OR REPLACE MACRO duckraft_pg.main.array_ndims(a) AS CASE WHEN len(a) > 0 THEN 1 END;
CREATE OR REPLACE MACRO duckraft_pg.main.array_dims(a) AS CASE WHEN len(a) > 0 THEN '[1:' || len(a) || ']' END;
CREATE OR REPLACE MACRO duckraft_pg.main.array_to_string(a, sep) AS system.main.array_to_string(a, sep),
    (a, sep, nullstr) AS system.main.array_to_string(list_transform(a, lambda x: coalesce(x::VARCHAR, nullstr)), sep);

-- Misc PostgreSQL functions clients call.
CREATE OR REPLACE MACRO duckraft_pg.main.quote_literal(s) AS '''' || replace(s::VARCHAR, '''', '''''') || '''';
CREATE OR REPLACE MACRO duckraft_pg.main.quote_nullable(s) AS
    CASE WHEN s IS NULL THEN 'NULL' ELSE '''' || replace(s::VARCHAR, '''', '''''') || '''' END;
CREATE OR REPLACE MACRO duckraft_pg.main.encode(b, fmt) AS
    CASE lower(fmt) WHEN 'hex' THEN lower(hex(b)) WHEN 'base64' THEN to_base64(b) ELSE b::VARCHAR END;
CREATE OR REPLACE MACRO duckraft_pg.main.decode(s, fmt) AS
    CASE lower(fmt) WHEN 'hex' THEN unhex(s) WHEN 'base64' THEN from_base64(s) ELSE s::BLOB END;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_current_xact_id() AS txid_current();
CREATE OR REPLACE MACRO duckraft_pg.main.pg_try_advisory_lock(k) AS true, (k1, k2) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_advisory_unlock(k) AS true, (k1, k2) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_advisory_lock(k) AS NULL, (k1, k2) AS NULL;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_advisory_xact_lock(k) AS NULL, (k1, k2) AS NULL;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_try_advisory_xact_lock(k) AS true, (k1, k2) AS true;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_advisory_unlock_all() AS NULL;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_export_snapshot() AS '00000003-00000001-1';
CREATE OR REPLACE MACRO duckraft_pg.main.pg_cancel_backend(p) AS false;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_terminate_backend(p) AS false, (p, t) AS false;
CREATE OR REPLACE MACRO duckraft_pg.main.pg_sleep(s) AS NULL;

-- ctid emulation (see REWRITE_RULES.md rule R9): ctid <-> DuckDB rowid, '(block,offset)' = (rowid >> 16, rowid & 65535).
CREATE OR REPLACE MACRO duckraft_pg.main.tid_in(s) AS
    (regexp_extract(s::VARCHAR, '^\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$', 1)::BIGINT << 16)
    + regexp_extract(s::VARCHAR, '^\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$', 2)::BIGINT;
CREATE OR REPLACE MACRO duckraft_pg.main.tid_out(r) AS '(' || (r >> 16) || ',' || (r & 65535) || ')';

-- information_schema.columns with PostgreSQL's type names: DuckDB's own says VARCHAR, DECIMAL(5,2) and
-- duckraft_varchar_20 where PostgreSQL says character varying, numeric and ARRAY. crates/sql/src/infoschema.rs
-- points the name here.
CREATE OR REPLACE VIEW duckraft_pg.main.duckraft_information_schema_columns AS
WITH typed AS (
    SELECT c.*, duckraft_pg.main.duckraft_pgtype(c.data_type) AS __isc_pgt FROM system.information_schema.columns c)
SELECT typed.* EXCLUDE (__isc_pgt) REPLACE (
    CASE WHEN __isc_pgt.ndims > 0 THEN 'ARRAY'
         WHEN __isc_ty.oid IS NULL THEN 'USER-DEFINED'
         ELSE duckraft_pg.main.duckraft_format_base(__isc_pgt.oid, -1) END AS data_type,
    CASE WHEN __isc_pgt.ndims = 0 AND __isc_pgt.oid IN (1042, 1043) AND __isc_pgt.typmod > 4
         THEN __isc_pgt.typmod - 4 END AS character_maximum_length,
    coalesce(__isc_ty.typname, typed.udt_name) AS udt_name)
FROM typed LEFT JOIN duckraft_pg.main.duckraft_builtin_types __isc_ty ON __isc_ty.oid = typed.__isc_pgt.oid;

-- PostgreSQL's text output of bytea and arrays, which DuckDB's casts to VARCHAR spell differently
-- ('\x00\x01', '[1, 2]'); the session uses these for a select-list `x::text` (crates/engine/src/session.rs).
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_bytea_text(b) AS '\x' || lower(hex(b));
-- An array element as array_out writes it: quoted (with \ and " escaped) when empty, NULL-like or special.
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_array_item(s) AS
    CASE WHEN s IS NULL THEN 'NULL'
         WHEN s = '' OR lower(s) = 'null' OR regexp_matches(s, '[{},"\\\s]')
         THEN '"' || replace(replace(s, '\', '\\'), '"', '\"') || '"'
         ELSE s END;
-- The items already spelled; NULL for a NULL array, {} for an empty one.
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_array_of(l, items) AS
    CASE WHEN l IS NULL THEN NULL ELSE '{' || coalesce(list_aggregate(items, 'string_agg', ','), '') || '}' END;
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_array_text(l) AS
    duckraft_pg.main.duckraft_array_of(l, list_transform(l, lambda e: duckraft_pg.main.duckraft_array_item(e::VARCHAR)));
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_bool_array_text(l) AS
    duckraft_pg.main.duckraft_array_of(l, list_transform(l, lambda e: CASE WHEN e IS NULL THEN 'NULL' WHEN e THEN 't' ELSE 'f' END));
-- PostgreSQL prints a whole float without a fractional part (2, not DuckDB's 2.0).
CREATE OR REPLACE MACRO duckraft_pg.main.duckraft_float_array_text(l) AS
    duckraft_pg.main.duckraft_array_of(l, list_transform(l, lambda e: CASE WHEN e IS NULL THEN 'NULL'
        ELSE duckraft_pg.main.duckraft_array_item(regexp_replace(e::VARCHAR, '\.0$', '')) END));

-- The pg_catalog views as relations (see duckraft_relations).
INSERT INTO duckraft_pg.main.duckraft_catalog_relations
SELECT 'pg_catalog', v.view_name, coalesce(co.relkind, 'v'), v.column_count, 0, false, 0, 'p', NULL, NULL, NULL, NULL
FROM duckdb_views() v LEFT JOIN duckraft_pg.main.duckraft_catalog_oids co ON co.relname = v.view_name
WHERE v.database_name = 'duckraft_pg' AND v.schema_name = 'main' AND v.view_name LIKE 'pg\_%' ESCAPE '\';

-- The pg_catalog views' own columns, typed once (see duckraft_columns).
INSERT INTO duckraft_pg.main.duckraft_catalog_columns
SELECT r.oid, 'pg_catalog', c.table_name, c.column_name, c.column_index, c.data_type, c.is_nullable, c.column_default,
       c.comment, c.pgt.oid, c.pgt.typmod, c.pgt.ndims
FROM (SELECT c.*, duckraft_pg.main.duckraft_pgtype(c.data_type) AS pgt
      FROM duckdb_columns() c
      WHERE c.database_name = 'duckraft_pg' AND c.schema_name = 'main' AND c.table_name LIKE 'pg\_%' ESCAPE '\'
        AND c.table_name IN (SELECT view_name FROM duckdb_views() WHERE database_name = 'duckraft_pg')) c
     JOIN duckraft_pg.main.duckraft_relations r ON r.nspname = 'pg_catalog' AND r.relname = c.table_name;

