// The code of the documents (README.md, docs/, CONTRIBUTING.md, example-app/README.md), for the tests that keep
// them true: every TypeScript and JavaScript block compiles under strict against the packed package, the
// complete programs run, and the shell transcripts after them are replayed against them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CodeBlock {
  /** The document, relative to the repository root. */
  doc: string;
  /** The line of the opening fence. */
  line: number;
  /** The fence's language (`ts`, `js`, `sh`, ...). */
  lang: string;
  /** What follows the language in the fence: `nocheck <why>` for a block that cannot compile. */
  info: string;
  code: string;
  /** For a complete program (first line `// name.mjs: ...`): its file name. */
  program?: string;
  /** For a complete program: the shell block right after it, which the tests replay. */
  transcript?: CodeBlock;
}

/**
 * The documents the tests read: the hand-written ones, then the API reference generated into docs/api/ from the
 * TSDoc (its examples are code too).
 */
export function documents(): string[] {
  const markdown = (folder: string): string[] =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => `${folder}/${f}`)
      .sort();
  const written = markdown('docs').filter((f) => !f.startsWith('docs/api/'));
  return ['README.md', 'CONTRIBUTING.md', 'example-app/README.md', ...written, ...markdown('docs/api')];
}

/** Every fenced block of `doc`, in order; a program is linked to the shell block that follows it. */
export function codeBlocks(doc: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)(?:\s+(.*))?$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    const code = body.join('\n');
    const program = /^\/\/ ([\w.-]+\.mjs):/.exec(body[0] ?? '')?.[1];
    const block: CodeBlock = { doc, line: start + 1, lang: open[1] ?? '', info: open[2] ?? '', code };
    if (program !== undefined) block.program = program;
    const previous = blocks.at(-1);
    if (block.lang === 'sh' && previous?.program !== undefined && previous.transcript === undefined)
      previous.transcript = block;
    blocks.push(block);
  }
  return blocks;
}

/** Every TypeScript and JavaScript block of every document. */
export function scriptBlocks(): CodeBlock[] {
  return documents()
    .flatMap(codeBlocks)
    .filter((b) => ['ts', 'js', 'typescript', 'javascript'].includes(b.lang));
}

/**
 * What a fragment may use without declaring it: the names the documents call `app`, `secret`, `store`... A
 * fragment gets the declarations of the names it uses and does not declare itself.
 */
const CONTEXT: Record<string, string> = {
  app: "declare const app: import('express').Express;",
  secret: 'declare const secret: string;',
  store: "declare const store: import('express-revocable-jwt').RevocationStore;",
  client: "declare const client: import('mongodb').MongoClient;",
  auth: "declare const auth: import('express-revocable-jwt').SessionAuth;",
  revocation: "declare const revocation: import('express-revocable-jwt').Revocation;",
  changePassword: "declare const changePassword: import('express').RequestHandler;",
  loginHandler: "declare const loginHandler: import('express').RequestHandler;",
  checkPassword: 'declare function checkPassword(username: string, password: string): Promise<boolean>;',
  users: "declare const users: import('mongodb').Collection<{ _id: string; role: string; banned?: boolean }>;",
  // The API reference's examples use the package's exports without importing them.
  ...Object.fromEntries(
    [
      [
        'express-revocable-jwt',
        [
          'createSessionAuth',
          'createRevocation',
          'MemoryRevocationStore',
          'isConfigError',
          'isSessionAuthError',
          'sendErrorJson',
        ],
      ],
      ['express-revocable-jwt/mongodb', ['MongoRevocationStore']],
      ['express-revocable-jwt/redis', ['RedisRevocationStore']],
      ['express-revocable-jwt/testing', ['runStoreConformance']],
      ['express-jwt', ['expressjwt']],
    ].flatMap(([from, names]) =>
      (names as string[]).map((name) => [name, `import { ${name} } from '${from as string}';`]),
    ),
  ),
};

/** The file a block is compiled as: a program as it is, a fragment in a module with the context it uses. */
export function compilationUnit(block: CodeBlock): { name: string; text: string } {
  const base = `${block.doc.replace(/[/.]/g, '_')}_${block.line}`;
  const isJs = block.lang === 'js' || block.lang === 'javascript';
  // A program keeps its name, so that another program of the document can import it.
  if (block.program !== undefined) return { name: block.program, text: block.code };
  const declared = (name: string) =>
    new RegExp(`\\b(const|let|var|function|class)\\s+${name}\\b|import[^;]*\\b${name}\\b[^;]*from`).test(block.code);
  const used = Object.entries(CONTEXT).filter(
    ([name]) => new RegExp(`\\b${name}\\b`).test(block.code) && !declared(name),
  );
  const preamble = used.map(([, declaration]) => declaration).join('\n');
  // A fragment is a module of its own (`export {}`), so two fragments never clash.
  return { name: `${base}.${isJs ? 'mts' : 'ts'}`, text: `${preamble}\n${block.code}\nexport {};\n` };
}

export const displayName = (block: CodeBlock) => `${relative(ROOT, join(ROOT, block.doc))}:${block.line}`;
