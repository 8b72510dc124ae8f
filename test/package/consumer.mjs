// An ESM consumer of the packed package: a real Express app, login, logout, replay.
import express from 'express';
import { createSessionAuth, MemoryRevocationStore, SessionAuthError } from 'express-revocable-jwt';
import { runRoundTrip } from './round-trip.mjs';

const result = await runRoundTrip({ express, createSessionAuth, MemoryRevocationStore, SessionAuthError });
console.log(JSON.stringify({ format: 'esm', ...result }));
