// Word frequencies in DuckDB (@duckdb/node-api, installed by the harness into
// bench/.deps): every word of a text file with its count, in freq's order
// (count descending, then the word), written as `count word` lines. DuckDB
// spills its GROUP BY and ORDER BY to disk past `memory_limit`.
//
//   node bench/peers/duckdb-wordcount.mjs FILE OUT THREADS MEMORY_LIMIT TEMP_DIR
// Exits 3 when @duckdb/node-api is not installed.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [file, out, threads, memoryLimit, tempDir] = process.argv.slice(2);
if (!file || !out || !threads || !memoryLimit || !tempDir) {
  console.error('usage: duckdb-wordcount.mjs FILE OUT THREADS MEMORY_LIMIT TEMP_DIR');
  process.exit(2);
}
let duckdb;
try {
  const require = createRequire(new URL('../.deps/package.json', import.meta.url));
  duckdb = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
} catch (error) {
  console.error(`duckdb-wordcount: @duckdb/node-api is not installed in bench/.deps (${error.message.split('\n')[0]})`);
  process.exit(3);
}
const q = (s) => `'${s.replace(/'/g, "''")}'`;
const instance = await duckdb.DuckDBInstance.create(':memory:', { threads, memory_limit: memoryLimit, temp_directory: tempDir, preserve_insertion_order: 'false' });
const connection = await instance.connect();
// Lines as one VARCHAR column (no delimiter, quote or escape), split on spaces.
await connection.run(`
  COPY (
    SELECT count(*) AS n, word
    FROM (SELECT unnest(string_split(line, ' ')) AS word
          FROM read_csv(${q(file)}, columns = {'line': 'VARCHAR'}, delim = '\\x01', header = false, quote = '', escape = '', auto_detect = false))
    WHERE word <> ''
    GROUP BY word
    ORDER BY n DESC, word
  ) TO ${q(out)} (FORMAT csv, DELIMITER ' ', HEADER false)`);
connection.closeSync?.();
instance.closeSync?.();
