// A CommonJS consumer of the packed package.
const express = require('express');
const { createSessionAuth, MemoryRevocationStore, SessionAuthError } = require('express-revocable-jwt');

import('./round-trip.mjs')
  .then(({ runRoundTrip }) => runRoundTrip({ express, createSessionAuth, MemoryRevocationStore, SessionAuthError }))
  .then((result) => console.log(JSON.stringify({ format: 'cjs', ...result })));
