/**
 * `npm run docs`: writes API.md (jsii-docgen) and the props table of README.md from the jsii assembly,
 * `.jsii`, which `npm run jsii` compiles from the TSDoc in lib/. The output depends on the assembly
 * alone, so running it twice changes nothing.
 *
 * `tsx scripts/docs.ts --out DIR` writes both files to DIR instead, for test/docs.test.ts, which fails
 * when the committed files differ from them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Documentation, Language } from 'jsii-docgen';
import * as prettier from 'prettier';

/** The little of the jsii assembly schema (@jsii/spec) that the props table reads. */
export interface Assembly {
  readonly types?: Record<string, { readonly kind: string; readonly properties?: Property[] }>;
}
export interface Property {
  readonly name: string;
  readonly optional?: boolean;
  readonly type: TypeReference;
  readonly locationInModule?: { readonly line: number };
  readonly docs?: { readonly summary?: string; readonly default?: string; readonly deprecated?: string };
}
export type TypeReference =
  | { readonly primitive: string }
  | { readonly fqn: string }
  | { readonly collection: { readonly kind: 'array' | 'map'; readonly elementtype: TypeReference } }
  | { readonly union: { readonly types: TypeReference[] } }
  | { readonly intersection: { readonly types: TypeReference[] } };

export const ROOT = path.resolve(__dirname, '..');
export const ASSEMBLY_FILE = path.join(ROOT, '.jsii');
export const API_FILE = path.join(ROOT, 'API.md');
export const README_FILE = path.join(ROOT, 'README.md');

/** The struct whose properties the README's table lists. */
const PROPS_FQN = 'agent-guard.AgentGuardProps';
export const PROPS_START = '<!-- props:start: generated from the TSDoc of AgentGuardProps by `npm run docs` -->';
export const PROPS_END = '<!-- props:end -->';

export function readAssembly(file = ASSEMBLY_FILE): Assembly {
  if (!fs.existsSync(file)) {
    throw new Error(`${path.relative(ROOT, file)} is missing: run npm run docs (it compiles it with jsii first).`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf-8')) as Assembly;
}

/**
 * Sources of the public API changed after the assembly was compiled: the generated docs would describe
 * the old API. `npm run jsii` (and so `npm test` and `npm run docs`) rewrites `.jsii` on every success.
 */
export function sourcesNewerThanAssembly(file = ASSEMBLY_FILE): string[] {
  const compiled = fs.statSync(file).mtimeMs;
  const sources = [path.join(ROOT, 'package.json'), ...walk(path.join(ROOT, 'lib'))];
  return sources
    .filter((f) => /\.(ts|json)$/.test(f) && fs.statSync(f).mtimeMs > compiled)
    .map((f) => path.relative(ROOT, f));
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** API.md, exactly as `npx jsii-docgen -o API.md` writes it. */
export async function renderApiMarkdown(root = ROOT): Promise<string> {
  const docs = await Documentation.forProject(root);
  try {
    const markdown = await docs.toMarkdown({ language: Language.TYPESCRIPT, readme: false, allSubmodules: true });
    return markdown.render();
  } finally {
    await docs.cleanup();
  }
}

/** The props table: one row per property of AgentGuardProps, in source order, formatted as prettier would. */
export async function renderPropsTable(assembly: Assembly): Promise<string> {
  const struct = assembly.types?.[PROPS_FQN];
  if (!struct || struct.kind !== 'interface') throw new Error(`${PROPS_FQN} is not in the assembly.`);
  const properties = [...(struct.properties ?? [])].sort(
    (a, b) => (a.locationInModule?.line ?? 0) - (b.locationInModule?.line ?? 0) || a.name.localeCompare(b.name),
  );
  const rows = properties.map((p) => [
    `[\`${p.name}\`](API.md#${PROPS_FQN}.property.${p.name})`,
    code(typeName(p.type)),
    cell(p.docs?.summary ?? '') + (p.docs?.deprecated ? ' **Deprecated.**' : ''),
    defaultCell(p),
  ]);
  const table = [['prop', 'type', 'what', 'default'], ['---', '---', '---', '---'], ...rows]
    .map((r) => `| ${r.join(' | ')} |`)
    .join('\n');
  const options = await prettier.resolveConfig(README_FILE);
  return (await prettier.format(table, { ...options, parser: 'markdown' })).trimEnd();
}

/** `readme` with the text between the props markers replaced by `table`. */
export function spliceProps(readme: string, table: string): string {
  const start = readme.indexOf(PROPS_START);
  const end = readme.indexOf(PROPS_END);
  if (start < 0 || end < start || readme.indexOf(PROPS_START, start + 1) >= 0) {
    throw new Error(`README.md needs exactly one '${PROPS_START}' followed by '${PROPS_END}'.`);
  }
  return `${readme.slice(0, start + PROPS_START.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

/** The README's props table as it stands, between the markers. */
export function currentProps(readme: string): string {
  const start = readme.indexOf(PROPS_START);
  const end = readme.indexOf(PROPS_END);
  return start < 0 || end < start ? '' : readme.slice(start + PROPS_START.length, end).trim();
}

/** `aws-cdk-lib.aws_iam.IRole[]` becomes `iam.IRole[]`, as the README's imports spell it. */
export function typeName(ref: TypeReference): string {
  if ('primitive' in ref) return ref.primitive;
  if ('fqn' in ref) {
    const parts = ref.fqn.split('.');
    const name = parts[parts.length - 1];
    return parts.length > 2 ? `${parts[parts.length - 2].replace(/^aws_/, '')}.${name}` : name;
  }
  if ('collection' in ref) {
    const element = typeName(ref.collection.elementtype);
    const wrapped = /[|&]/.test(element) ? `(${element})` : element;
    return ref.collection.kind === 'array' ? `${wrapped}[]` : `Record<string, ${element}>`;
  }
  if ('union' in ref) return ref.union.types.map(typeName).join(' | ');
  return ref.intersection.types.map(typeName).join(' & ');
}

function defaultCell(p: Property): string {
  if (!p.optional) return '**required**';
  const value = p.docs?.default;
  if (value === undefined) return '';
  // TSDoc's `@default code - what it means`, or `@default - what happens` when no value says it.
  const match = /^(.*?)(?:^|\s)-\s+(.*)$/s.exec(value.trim());
  if (!match) return code(value.trim());
  const [, literal, meaning] = match;
  return literal.trim() ? `${code(literal.trim())}: ${cell(meaning)}` : cell(meaning);
}

/** Markdown for one table cell: on one line, `{@link X}` as code, pipes escaped. */
function cell(text: string): string {
  return text
    .replace(/\{@link\s+([^}|\s]+)\s*(?:\|\s*([^}]+))?\}/g, (_, target: string, label?: string) =>
      label ? label.trim() : code(target),
    )
    .replace(/\*\\\//g, '*/')
    .replace(/\s*\r?\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

function code(text: string): string {
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

async function main(args: string[]): Promise<void> {
  const outIndex = args.indexOf('--out');
  const outDir = outIndex >= 0 ? path.resolve(args[outIndex + 1] ?? '') : ROOT;
  const assembly = readAssembly();
  const stale = sourcesNewerThanAssembly();
  if (stale.length > 0) {
    throw new Error(`.jsii is older than ${stale.join(', ')}: run npm run docs (it compiles with jsii first).`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'API.md'), await renderApiMarkdown());
  const readme = spliceProps(fs.readFileSync(README_FILE, 'utf-8'), await renderPropsTable(assembly));
  fs.writeFileSync(path.join(outDir, 'README.md'), readme);
  console.log(`wrote API.md and README.md's props table to ${path.relative(process.cwd(), outDir) || '.'}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
