# batchjob: one image for the manager and the worker daemons (and the CLI).
#   docker build -t batchjob .
#   docker run --rm -e REDIS_URL=redis://host:6379 batchjob status
# Mount your own config and point BATCHJOB_CONFIG at it; the default is the demo's.
FROM node:20-bookworm-slim
# python3 lets spawn jobs written in Python run in the worker image; tini
# forwards SIGTERM so the daemons drain and exit cleanly on `docker stop`
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 tini \
  && rm -rf /var/lib/apt/lists/* \
  && npm install -g pnpm@12.4.2
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && pnpm exec tsc -b && chown -R node:node /app
ENV BATCHJOB_CONFIG=/app/examples/demo/batchjob.config.mjs
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/packages/cli/dist/bin.js"]
CMD ["--help"]
