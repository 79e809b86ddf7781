// Runs the official Elasticsearch JavaScript client, LangChain.js (ElasticVectorSearch) and
// LlamaIndex.TS (ElasticSearchVectorStore) unmodified against a node with the plugin, on the real
// bge-small slice, and checks their results against exact search and matryoshka_knn. Exits non-zero
// on the first failed check. Prints every _search body the libraries sent (vectors elided), so the
// integration tests can send the same bodies (integTest/java/io/matryoshka/it/KnnIT.java).
//
//   node clients-check.mjs <elasticsearch url> <slice dir>
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { Embeddings } from '@langchain/core/embeddings';
import { Document } from '@langchain/core/documents';
import { ElasticVectorSearch, HybridRetrievalStrategy } from '@langchain/community/vectorstores/elasticsearch';
import { ElasticSearchVectorStore } from '@llamaindex/elastic-search';
import { TextNode } from '@llamaindex/core/schema';
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { Settings } from '@llamaindex/core/global';

const here = path.dirname(fileURLToPath(import.meta.url));
const url = process.argv[2] ?? 'http://localhost:9200';
const sliceDir = process.argv[3] ?? path.resolve(here, '../../src/test/resources/debian-bge-small-slice');
const QUERIES = 50;
const K = 10;

function readFvecs(file) {
  const buf = fs.readFileSync(file);
  const rows = [];
  for (let off = 0; off < buf.length; ) {
    const dims = buf.readInt32LE(off);
    off += 4;
    const v = new Array(dims);
    for (let i = 0; i < dims; i++, off += 4) v[i] = buf.readFloatLE(off);
    rows.push(v);
  }
  return rows;
}
const readTsv = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));

const docs = readFvecs(path.join(sliceDir, 'docs.fvecs'));
const docTexts = readTsv(path.join(sliceDir, 'docs.tsv')).map((r) => r[1]);
const queries = readFvecs(path.join(sliceDir, 'queries.fvecs')).slice(0, QUERIES);
const queryTexts = readTsv(path.join(sliceDir, 'queries.tsv')).slice(0, QUERIES).map((r) => r[1]);
const group = (i) => `g${i % 10}`;

// The slice's own vectors stand in for an embedding model: the libraries only see an Embeddings.
class SliceEmbeddings extends Embeddings {
  constructor() {
    super({});
    this.byText = new Map();
    docTexts.forEach((t, i) => this.byText.set(t, docs[i]));
    queryTexts.forEach((t, i) => this.byText.set(t, queries[i]));
  }
  async embedDocuments(texts) {
    return texts.map((t) => this.vector(t));
  }
  async embedQuery(text) {
    return this.vector(text);
  }
  vector(text) {
    const v = this.byText.get(text);
    if (v === undefined) throw new Error(`no vector for text: ${text.slice(0, 60)}`);
    return v;
  }
}

// LlamaIndex.TS's stores ask the global Settings for a model; the nodes carry their vectors.
class SliceEmbedModel extends BaseEmbedding {
  constructor(embeddings) {
    super();
    this.embeddings = embeddings;
  }
  async getTextEmbedding(text) {
    return this.embeddings.vector(text);
  }
}

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
function exactTop(q, k, accept = () => true) {
  const scored = [];
  docs.forEach((d, i) => accept(i) && scored.push([i, dot(q, d)]));
  scored.sort((a, b) => b[1] - a[1]);
  return scored.slice(0, k).map(([i]) => String(i));
}
const recall = (got, want) => got.filter((id) => want.includes(id)).length / want.length;

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

const client = new Client({ node: url });
const bodies = new Map();
client.diagnostic.on('request', (err, result) => {
  const params = result?.meta?.request?.params;
  if (!params || !params.path.endsWith('/_search') || params.body == null) return;
  const body = typeof params.body === 'string' ? params.body : JSON.stringify(params.body);
  const shape = body.replace(/\[(-?\d[^\]]*)\]/g, (m) => (m.split(',').length > 16 ? '"<vector>"' : m));
  const agent = params.headers?.['user-agent'] ?? '';
  const key = `${params.method} ${params.path} ${shape}`;
  if (!bodies.has(key)) bodies.set(key, agent);
});

async function matryoshkaKnn(index, q, k, filter) {
  const r = await client.search({ index, size: k, query: { matryoshka_knn: { field: 'embedding', query_vector: q, k, ...(filter && { filter }) } } });
  return r.hits.hits.map((h) => h._id);
}

async function createIndex(index, textField, metadataProperties) {
  await client.indices.delete({ index, ignore_unavailable: true });
  await client.indices.create({
    index,
    settings: { number_of_shards: 1, number_of_replicas: 0 },
    mappings: {
      properties: {
        embedding: { type: 'matryoshka_vector', dims: 384, similarity: 'cosine' },
        [textField]: { type: 'text' },
        metadata: { properties: metadataProperties },
      },
    },
  });
}

async function main() {
  // (GET / is not served by Elasticsearch's minimal test distribution: ask the nodes API.)
  const info = (await client.cat.nodes({ h: 'version', format: 'json' }))[0];
  const version = (name) => JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  console.log(`Elasticsearch ${info.version} at ${url}`);
  for (const name of ['@elastic/elasticsearch', '@langchain/community', '@langchain/core', '@llamaindex/elastic-search', '@llamaindex/core']) {
    console.log(`  ${name} ${version(name)}`);
  }
  const embeddings = new SliceEmbeddings();

  // LangChain.js: ElasticVectorSearch as documented, over an index mapped beforehand.
  await createIndex('langchain', 'text', { ordinal: { type: 'integer' }, group: { type: 'keyword' } });
  const store = new ElasticVectorSearch(embeddings, { client, indexName: 'langchain', vectorSearchOptions: { similarity: 'cosine' } });
  const ids = docs.map((_, i) => String(i));
  const documents = docs.map((_, i) => new Document({ pageContent: docTexts[i], metadata: { ordinal: i, group: group(i) } }));
  for (let from = 0; from < documents.length; from += 1000) {
    await store.addDocuments(documents.slice(from, from + 1000), { ids: ids.slice(from, from + 1000) });
  }
  await client.indices.forcemerge({ index: 'langchain', max_num_segments: 1 });
  await client.indices.refresh({ index: 'langchain' });

  let r = 0, rf = 0, same = 0;
  for (let i = 0; i < QUERIES; i++) {
    const hits = await store.similaritySearchWithScore(queryTexts[i], K);
    const got = hits.map(([doc]) => String(doc.metadata.ordinal));
    r += recall(got, exactTop(queries[i], K));
    if (JSON.stringify(got) === JSON.stringify(await matryoshkaKnn('langchain', queries[i], K))) same++;
    const filtered = await store.similaritySearchWithScore(queryTexts[i], K, { group: 'g3' });
    const fgot = filtered.map(([doc]) => String(doc.metadata.ordinal));
    if (filtered.some(([doc]) => doc.metadata.group !== 'g3') || fgot.length !== K) rf = -Infinity;
    rf += recall(fgot, exactTop(queries[i], K, (d) => group(d) === 'g3'));
  }
  check(r / QUERIES >= 0.99, `LangChain.js similaritySearchWithScore: recall@10 ${(r / QUERIES).toFixed(4)} over ${QUERIES} queries (>= 0.99)`);
  check(same === QUERIES, `LangChain.js results equal matryoshka_knn's for ${same}/${QUERIES} queries`);
  check(rf / QUERIES >= 0.99, `LangChain.js similaritySearchWithScore with filter {group: 'g3'}: only g3 hits, recall@10 ${(rf / QUERIES).toFixed(4)} (>= 0.99)`);

  // LangChain.js hybrid: an rrf retriever over a match and a knn retriever.
  const hybrid = new ElasticVectorSearch(embeddings, { client, indexName: 'langchain', strategy: new HybridRetrievalStrategy() });
  try {
    const hits = await hybrid.similaritySearch(queryTexts[0], K);
    check(hits.length === K, `LangChain.js hybrid (rrf) search: ${hits.length} hits`);
  } catch (e) {
    // The rrf retriever is an x-pack module (rank-rrf) that Elasticsearch's minimal test
    // distribution does not ship; anything else is a failure.
    const reason = JSON.stringify(e.meta?.body?.error ?? e.message);
    const noRrf = /unknown retriever \[rrf\]|\[rrf\]/.test(reason);
    check(noRrf, `LangChain.js hybrid: this node has no rrf retriever (${reason.slice(0, 160)})`);
    const knnOnly = await client.search({ index: 'langchain', size: K, retriever: { knn: { field: 'embedding', query_vector: queries[0], k: K, num_candidates: 200 } } });
    const got = knnOnly.hits.hits.map((h) => h._id);
    check(JSON.stringify(got) === JSON.stringify(await matryoshkaKnn('langchain', queries[0], K)), 'the hybrid request\'s knn retriever alone returns matryoshka_knn\'s hits');
  }

  // LlamaIndex.TS: ElasticSearchVectorStore, its own text field name, over an index mapped beforehand.
  await createIndex('llamaindex', 'content', { group: { type: 'keyword' }, doc_id: { type: 'keyword' }, ref_doc_id: { type: 'keyword' }, document_id: { type: 'keyword' } });
  Settings.embedModel = new SliceEmbedModel(embeddings);
  const llama = new ElasticSearchVectorStore({ esClient: client, indexName: 'llamaindex' });
  const nodes = docs.map((v, i) => new TextNode({ id_: String(i), text: docTexts[i], embedding: v, metadata: { group: group(i) } }));
  for (let from = 0; from < nodes.length; from += 1000) {
    await llama.add(nodes.slice(from, from + 1000));
  }
  await client.indices.forcemerge({ index: 'llamaindex', max_num_segments: 1 });
  await client.indices.refresh({ index: 'llamaindex' });
  let lr = 0, lsame = 0, lf = 0;
  for (let i = 0; i < QUERIES; i++) {
    const res = await llama.query({ queryEmbedding: queries[i], similarityTopK: K, mode: 'default' });
    lr += recall(res.ids, exactTop(queries[i], K));
    if (JSON.stringify(res.ids) === JSON.stringify(await matryoshkaKnn('llamaindex', queries[i], K))) lsame++;
    const fres = await llama.query({ queryEmbedding: queries[i], similarityTopK: K, mode: 'default', filters: { filters: [{ key: 'group', value: 'g3', operator: '==' }] } });
    lf += recall(fres.ids, exactTop(queries[i], K, (d) => group(d) === 'g3'));
  }
  check(lr / QUERIES >= 0.99, `LlamaIndex.TS query: recall@10 ${(lr / QUERIES).toFixed(4)} (>= 0.99)`);
  check(lsame === QUERIES, `LlamaIndex.TS results equal matryoshka_knn's for ${lsame}/${QUERIES} queries`);
  check(lf / QUERIES >= 0.99, `LlamaIndex.TS query with a metadata filter: recall@10 ${(lf / QUERIES).toFixed(4)} (>= 0.99)`);

  // The JavaScript client itself: the top-level knn section and a knn query.
  let jr = 0;
  for (let i = 0; i < QUERIES; i++) {
    const res = await client.search({ index: 'langchain', knn: { field: 'embedding', query_vector: queries[i], k: K, num_candidates: 100 }, _source: false });
    jr += recall(res.hits.hits.map((h) => h._id), exactTop(queries[i], K));
  }
  check(jr / QUERIES >= 0.99, `@elastic/elasticsearch search({knn}): recall@10 ${(jr / QUERIES).toFixed(4)} (>= 0.99)`);
  const q = await client.search({ index: 'langchain', size: K, query: { knn: { field: 'embedding', query_vector: queries[0], k: K, num_candidates: 100 } } });
  check(q.hits.hits.length === K, `@elastic/elasticsearch search({query: {knn}}): ${q.hits.hits.length} hits`);

  console.log('\n_search bodies the libraries sent (vectors elided):');
  for (const [key, agent] of bodies) console.log(`  [${agent}] ${key}`);
  console.log(failures === 0 ? '\nALL CHECKS PASSED' : `\n${failures} CHECK(S) FAILED`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error('FAIL', e.meta?.body ? JSON.stringify(e.meta.body) : e.stack ?? e);
  process.exit(1);
});
