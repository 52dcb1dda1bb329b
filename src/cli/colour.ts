// SPDX-License-Identifier: GPL-2.0-only
/**
 * Colour for the text output on a terminal, and only there: never in JSON,
 * never when NO_COLOR is set to anything (https://no-color.org), not on a
 * "dumb" terminal; FORCE_COLOR (not 0 or false) asks for it through a pipe.
 * It is applied to finished lines by their shape, after every string from
 * firmware has had its control characters escaped (text.ts), so the only
 * escape sequences in the output are these.
 */

const ESC = String.fromCharCode(0x1b);
const sgr = (code: string) => (s: string) => `${ESC}[${code}m${s}${ESC}[0m`;
const bold = sgr('1');
const red = sgr('31');
const green = sgr('32');
const yellow = sgr('33');

/** Whether to colour what goes to this stream, under this environment. */
export function colourEnabled(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Each line by what it says: group headers bold, findings red, all-clear green, a diff's two sides. */
const RULES: readonly [RegExp, (s: string) => string][] = [
  [/^(group \d+.*)$/, bold],
  [/^((?:WARNs|leaks|invariant violations): [1-9]\d*)$/, red],
  [/^((?:WARNs|leaks): none)$/, green],
  [/^(expectation: as the scenario expects.*)$/, green],
  [/^(expectation: .*)$/, red],
  [/^(compared with the machine's live .*: the model agrees)$/, green],
  [/^(compared with the machine's live .*: the model differs)$/, red],
  [/^( {4}- .*)$/, red],
  [/^( {4}\+ .*)$/, green],
  [/^((?:DMA fault|stale IOTLB use|DMA-API debug): .*)$/, yellow],
];

export function colourize(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      for (const [re, paint] of RULES) if (re.test(line)) return line.replace(re, (m) => paint(m));
      return line;
    })
    .join('\n');
}
