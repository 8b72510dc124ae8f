// A CommonJS consumer of the packed package: the same round trip, then the other entry points with `require`.
const root = require('express-revocable-jwt');
const express = require('express');

Promise.all([import('./round-trip.mjs'), import('./entry-points.mjs')])
  .then(async ([{ runRoundTrip }, { checkEntryPoints }]) => {
    // Checked first, so the round trip's own imports cannot load anything before it looks at require.cache.
    const entries = await checkEntryPoints({ root, load: async (name) => require(name), cache: require.cache });
    const { createSessionAuth, MemoryRevocationStore, SessionAuthError } = root;
    const result = await runRoundTrip({ express, createSessionAuth, MemoryRevocationStore, SessionAuthError });
    return { ...result, entries };
  })
  .then((result) => console.log(JSON.stringify({ format: 'cjs', ...result })));
