// Runs a zod options schema once at startup and turns its issues into one readable ConfigError.
import { z } from 'zod';
import { ConfigError, combineConfigErrors } from '../core/config-error.js';
import { closestName, describeValue } from './hints.js';

/**
 * Parses `input` with `schema` (a strict zod object). Unknown keys get a "did you mean" hint; every other
 * problem names the option path, the value given and zod's explanation (or the schema's own fix text).
 */
export function validateOptions<S extends z.ZodType>(schema: S, input: unknown, rootName: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => toConfigError(schema, issue, input, rootName));
  throw combineConfigErrors(errors);
}

function toConfigError(schema: z.ZodType, issue: z.core.$ZodIssue, input: unknown, rootName: string): ConfigError {
  const parentPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, issue.path);
    const where = parentPath.length === 0 ? rootName : `${rootName} option \`${parentPath.join('.')}\``;
    const hints = issue.keys.map((key) => {
      const suggestion = closestName(key, known);
      const full = [...parentPath, key].join('.');
      return suggestion === undefined
        ? `\`${full}\``
        : `\`${full}\` (did you mean \`${[...parentPath, suggestion].join('.')}\`?)`;
    });
    return new ConfigError(
      '',
      `${where} got unknown option${issue.keys.length > 1 ? 's' : ''} ${hints.join(', ')}. Known options: ${known.join(', ')}.`,
    );
  }
  const option = parentPath.join('.') || rootName;
  const message = issue.message.replace(/\.$/, '');
  // Never echo key material or connection strings (they may carry passwords) into an error message.
  if (parentPath.some((key) => SENSITIVE.test(key))) return new ConfigError(option, `${message}.`);
  // Strings are shown only where the option takes one of a few words (an enum): anywhere else a string could
  // be a secret or a password put in the wrong place.
  const value = valueAt(input, issue.path);
  const shown =
    typeof value === 'string' && issue.code !== 'invalid_value'
      ? `a string of ${value.length} characters`
      : describeValue(value);
  return new ConfigError(option, `${message} (got ${shown}).`);
}

const SENSITIVE = /secret|key|password|uri|client/i;

function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (const key of path) {
    current = unwrap(current);
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, unknown>)[String(key)];
  }
  current = unwrap(current);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema;
  while (
    s instanceof z.ZodOptional ||
    s instanceof z.ZodDefault ||
    s instanceof z.ZodNullable ||
    s instanceof z.ZodPipe
  ) {
    s = s instanceof z.ZodPipe ? s.in : s.unwrap();
  }
  return s;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
