// SPDX-License-Identifier: GPL-2.0-only
// Run before each test file (vitest setupFiles): its scratch folders go when it ends.
import { afterAll } from 'vitest';
import { removeScratchDirs } from './scratch.js';

afterAll(removeScratchDirs);
