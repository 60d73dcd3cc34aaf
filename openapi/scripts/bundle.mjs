// Writes dist/openapi.json from openapi.yaml, so consumers load the document
// without a YAML parser and the build graph sees every change to it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { parse } from 'yaml';

const source = new URL('../openapi.yaml', import.meta.url);
const target = new URL('../dist/openapi.json', import.meta.url);

const document = parse(await readFile(source, 'utf8'));
await mkdir(new URL('.', target), { recursive: true });
await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
