// SPDX-License-Identifier: GPL-2.0-only
/**
 * A progress line on standard error for the runs that take a while (a report
 * explaining every device of a big platform, a scenario under every
 * profile): only when standard error is a terminal and not under CI, so that
 * pipes, files and logs stay clean; redrawn in place with a carriage return
 * and erased when the work is done.
 */

import { safe } from './text.js';

const ESC = String.fromCharCode(0x1b);
const WIDTH = 24;

export interface Progress {
  /** One more item done (label: what it was). */
  tick(label?: string): void;
  /** Erase the line. */
  done(): void;
}

const silent: Progress = { tick: () => undefined, done: () => undefined };

export function progress(
  total: number,
  what: string,
  stream: { readonly isTTY?: boolean; write(s: string): unknown } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Progress {
  if (stream.isTTY !== true || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false') || total < 2)
    return silent;
  let n = 0;
  const draw = (label: string) => {
    const full = Math.round((n / total) * WIDTH);
    stream.write(
      `\r${ESC}[K${safe(what)} [${'#'.repeat(full)}${' '.repeat(WIDTH - full)}] ${n}/${total} ${safe(label)}`,
    );
  };
  draw('');
  return {
    tick(label = '') {
      n++;
      draw(label);
    },
    done() {
      stream.write(`\r${ESC}[K`);
    },
  };
}
