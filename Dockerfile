# Hubforge: one image for the web server and the Celery worker (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HUB_DATA_DIR=/data

# git serves the wire protocol (smart HTTP via C git); git-lfs for operators' checks; xmlsec1
# checks SAML signatures (sso/saml.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git git-lfs xmlsec1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /home/hub --uid 1000 hub \
    && mkdir -p /data && chown hub:hub /data

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p hub common orgs repos search datasets_svc webhooks \
    && for d in hub common orgs repos search datasets_svc webhooks; do touch $d/__init__.py; done \
    && pip install . && pip uninstall -y hubforge \
    && rm -rf hub common orgs repos search datasets_svc webhooks build *.egg-info
COPY . .
# Static files are served by WhiteNoise straight from the package (WHITENOISE_USE_FINDERS).
RUN pip install --no-deps -e .

USER hub
VOLUME ["/data"]
EXPOSE 8000
CMD ["hubforge", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
