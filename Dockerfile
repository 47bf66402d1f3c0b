# One image for the services and the web app; compose picks one by command.
# The web app's browser assets come from the npm registry, as package-lock.json says.
FROM node:20-slim AS assets
WORKDIR /assets
COPY services/web/package.json services/web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY tools ./tools
COPY policy ./policy
COPY config.yml ./
COPY --from=assets /assets/node_modules ./services/web/node_modules
# The docs page at /docs/ (make docs puts Swagger UI's files beside index.html).
COPY docs/api ./docs/api
RUN pip install --no-cache-dir -e . && useradd --system fasttrack
USER fasttrack
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['WEB_SERVER_ADDRESS'].rsplit(':',1)[1] + '/health', timeout=2)"
ENTRYPOINT ["python", "-m", "tools.serve", "run", "--config", "config.yml"]
