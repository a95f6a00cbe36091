// Starts an Unleash server for Turnout's tests. PGPORT: a PostgreSQL server with an "unleash"
// database; UNLEASH_PORT: the port to serve on.
const unleash = require('unleash-server');

unleash
  .start({
    db: {
      host: 'localhost',
      port: Number(process.env.PGPORT),
      user: 'postgres',
      password: '',
      database: 'unleash',
      ssl: false,
    },
    server: { port: Number(process.env.UNLEASH_PORT) },
    authentication: { type: 'none' },
    logLevel: 'warn',
  })
  .then(() => console.log('Unleash test server ready'))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
