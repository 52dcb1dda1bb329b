// SPDX-License-Identifier: GPL-2.0-only
// The InputError a call throws (any other exception, or none, fails the test).
import { InputError } from '../../src/input/input-error.js';

export function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no error');
}
