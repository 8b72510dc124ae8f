// Every relative link of README.md, docs/, CONTRIBUTING.md and example-app/README.md points at a file that
// exists and, with a `#fragment`, at a heading of that file (GitHub's anchors), so moving a section breaks a test.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { documents, ROOT } from '../support/doc-blocks.js';

/** A document's text outside fenced code blocks. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** The anchors GitHub gives the headings of a markdown text. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}

describe('links between the documents', () => {
  for (const doc of documents()) {
    test(`every relative link of ${doc} resolves`, () => {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const links = [...prose(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
      const local = links.filter((l) => !/^[a-z]+:/.test(l));
      const broken: string[] = [];
      for (const link of local) {
        const [path = '', fragment] = link.split('#');
        const target = path === '' ? join(ROOT, doc) : join(ROOT, dirname(doc), path);
        if (!existsSync(target)) broken.push(`${link} points at nothing (${relative(ROOT, target)})`);
        else if (
          fragment !== undefined &&
          !(statSync(target).isFile() && anchors(readFileSync(target, 'utf8')).has(fragment))
        )
          broken.push(`${link}: no heading #${fragment} in ${relative(ROOT, target)}`);
      }
      assert.deepEqual(broken, [], `${doc}: broken links`);
      assert.ok(local.length > 0 || doc !== 'README.md', 'README.md has no relative links: is the parser right?');
    });
  }
});
