// An ESM consumer of the packed package: a real Express app, login, logout, replay; then the other entry points.
import { createRequire } from 'node:module';
import express from 'express';
import * as root from 'express-revocable-jwt';
import { checkEntryPoints } from './entry-points.mjs';
import { runRoundTrip } from './round-trip.mjs';

const { cache } = createRequire(import.meta.url);
const entries = await checkEntryPoints({ root, load: (name) => import(name), cache });
const { createSessionAuth, MemoryRevocationStore, SessionAuthError } = root;
const result = await runRoundTrip({ express, createSessionAuth, MemoryRevocationStore, SessionAuthError });
console.log(JSON.stringify({ format: 'esm', ...result, entries }));
