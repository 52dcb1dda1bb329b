// SPDX-License-Identifier: GPL-2.0-only
/**
 * Bad input is an error value users can read: which file, where in it (a
 * JSON field path or a byte offset), which field, and what is wrong. Every
 * parser and loader throws only this type for bad input; the CLI prints its
 * message and exits 2, never a stack trace.
 */
import type { z } from 'zod';
import { parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';

export class InputError extends Error {
  constructor(
    /** The file (or "<inline>", "<built-in NAME>"). */
    readonly file: string,
    /** Where: "devices[3].of", "offset 0x24". Empty when the whole file is at fault. */
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${file}${where ? `: ${where}` : ''}: ${problem}`);
    this.name = 'InputError';
  }
}

/** A zod path as users write it: devices[3].of */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** The first zod issue as an InputError (the rest usually follow from it). */
export function fromZod(file: string, error: z.ZodError): InputError {
  const issue = error.issues[0];
  let where = formatPath(issue.path);
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Point at the unknown key itself, so a typo is named where it is.
    where = formatPath([...issue.path, issue.keys[0]]);
    problem = `unknown field${issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(', ')})` : ''}`;
  }
  const more =
    error.issues.length > 1
      ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? 's' : ''})`
      : '';
  return new InputError(file, where || '(top level)', problem + more);
}

/**
 * JSON.parse, with a syntax error turned into an InputError naming the line
 * and column. V8's messages do not always carry a position, so the position
 * comes from jsonc-parser's scanner (strict: no comments, no trailing commas).
 * "__proto__" keys are dropped so that input cannot reach Object.prototype.
 */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
  } catch (e) {
    const errors: ParseError[] = [];
    parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    const pos = first ? first.offset : text.length;
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    const what = first
      ? printParseErrorCode(first.error)
          .replace(/([a-z])([A-Z])/g, '$1 $2')
          .toLowerCase()
      : e instanceof Error
        ? e.message
        : String(e);
    throw new InputError(file, `line ${line}, column ${col}`, `not valid JSON: ${what}`);
  }
}
