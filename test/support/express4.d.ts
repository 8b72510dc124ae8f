// Express 4 is installed as the alias `express4` so that every HTTP test runs against both major versions.
declare module 'express4' {
  import express from 'express';
  export default express;
}
