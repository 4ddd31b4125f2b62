// Reads a directory of edgerec event files (host/events/EVENTS.md §3) with
// DuckDB as it is, and prints what host/events' TestDuckDBReadsEvents
// checks: the rows by type and day, the schema's version from the files'
// metadata, and impressions joined with takes per arm.
//
//   node query.mjs DIR
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node query.mjs DIR');
  process.exit(2);
}
const files = `'${dir.replaceAll("'", "''")}/day=*/*.parquet'`;
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();

async function rows(sql) {
  const reader = await con.runAndReadAll(sql);
  return reader.getRowObjectsJson();
}

const byType = await rows(`
  SELECT type, CAST(day AS VARCHAR) AS day, count(*) AS n
  FROM read_parquet(${files}, hive_partitioning = true)
  GROUP BY ALL ORDER BY ALL`);
const versions = await rows(`
  SELECT DISTINCT decode(value) AS version
  FROM parquet_kv_metadata(${files}) WHERE decode(key) = 'edgerec.events.version'`);
const joined = await rows(`
  WITH e AS (SELECT * FROM read_parquet(${files}, hive_partitioning = true)),
       shown AS (SELECT request_id, arm, s.item AS item, s.position AS position
                 FROM e, unnest(e.items) AS u(s) WHERE type = 'impression'),
       took AS (SELECT DISTINCT request_id, item FROM e WHERE type = 'take')
  SELECT arm, count(*) AS impressions, count(took.item) AS takes,
         min(epoch_ms(e2.first)) AS first_ms
  FROM shown LEFT JOIN took USING (request_id, item)
  CROSS JOIN (SELECT min(time) AS first FROM e) AS e2
  GROUP BY arm ORDER BY arm`);
console.log(JSON.stringify({ byType, versions, joined }));
