# One image for the three services; compose picks the service by command.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY tools ./tools
COPY policy ./policy
COPY config.yml ./
# The docs page at /docs/ (make docs puts Swagger UI's files beside index.html).
COPY docs/api ./docs/api
RUN pip install --no-cache-dir -e . && useradd --system fasttrack
USER fasttrack
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['WEB_SERVER_ADDRESS'].rsplit(':',1)[1] + '/health', timeout=2)"
ENTRYPOINT ["python", "-m", "tools.serve", "run", "--config", "config.yml"]
