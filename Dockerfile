# batchjob: one image for the manager and the worker daemons (and the CLI).
#   docker build -t batchjob .
#   docker run --rm -e REDIS_URL=redis://host:6379 batchjob status
# Mount your own config and point BATCHJOB_CONFIG at it; the default is the demo's.
#
# Two stages on Node 24: the first builds the repository and packs the five
# packages; the second installs those tarballs the way a user does (npm
# install: a packed package has no dev dependencies), so the image holds the
# packages, their production dependencies and nothing of the build, and runs
# as the unprivileged `node` user.
FROM node:24-bookworm-slim AS build
RUN npm install -g pnpm@12.4.2
WORKDIR /src
COPY . .
RUN pnpm install --frozen-lockfile \
  && pnpm exec tsc -b \
  && mkdir /packs \
  && for p in core http worker manager cli; do (cd "packages/$p" && pnpm pack --pack-destination /packs); done

FROM node:24-bookworm-slim
# python3 lets spawn jobs written in Python run in the worker image; tini
# forwards SIGTERM so the daemons drain and exit cleanly on `docker stop`
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /packs /app/packs
RUN echo '{"name": "batchjob-image", "private": true, "type": "module"}' > package.json \
  && npm install --omit=dev --no-audit --no-fund ./packs/*.tgz \
  && npm cache clean --force
# your config and its job modules import @batchjob/core from /app/node_modules, or,
# mounted elsewhere (a read-only /config), from the CLI's own install
ENV PATH=/app/node_modules/.bin:$PATH \
  NODE_ENV=production \
  BATCHJOB_CONFIG=/app/node_modules/@batchjob/cli/demo/batchjob.config.mjs
USER node
# a probe until the daemons serve a health route: Redis answers and the
# deployment's state reads back. status exits 1 when it does not, and 3 when
# all was read but no manager leads or no worker host is alive: that is the
# deployment's state, not this container's, so 3 counts as healthy here
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["sh", "-c", "batchjob status --history 0 > /dev/null; test $? -ne 1 -a $? -ne 2"]
ENTRYPOINT ["/usr/bin/tini", "--", "batchjob"]
CMD ["--help"]
