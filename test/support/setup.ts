// SPDX-License-Identifier: GPL-2.0-only
// Run before each test file (vitest setupFiles): its scratch folders go when it ends, and the
// CLIs the tests start print plain text whatever the environment asks (test/cli/colour.test.ts
// sets the colour variables itself).
import { afterAll } from 'vitest';
import { removeScratchDirs } from './scratch.js';

process.env.NO_COLOR = '1';
delete process.env.FORCE_COLOR;

afterAll(removeScratchDirs);
