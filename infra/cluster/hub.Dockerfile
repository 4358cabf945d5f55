# The hub image used by compose.yaml: the monorepo installed with the pinned pnpm, built, run as `node`.
FROM node:22-bookworm-slim
WORKDIR /app
COPY . .
RUN npx --yes pnpm@10.34.8 install --frozen-lockfile && npx --yes pnpm@10.34.8 build
USER node
EXPOSE 8080
CMD ["node", "apps/hub/dist/cli.js", "serve"]
