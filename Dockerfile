# One image for every ordergate role (api, connector, simulator, tools); the command picks it.
#   docker build -t ordergate .
#   docker run --rm ordergate api --host 0.0.0.0 --port 8080 --redis redis://redis:6379/0
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY gateway gateway
COPY fixengine fixengine
COPY connector connector
COPY stateless_api stateless_api
COPY simulators simulators
COPY console console
COPY operations operations
# the versions the test suite ran with (requirements.lock), not whatever is newest today
RUN pip install --no-cache-dir --prefix=/install -c requirements.lock .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /install /usr/local
# no root at run time; the FIX message log and nothing else is written (to a mounted volume)
RUN useradd --system --uid 10001 --no-create-home ordergate
USER 10001
ENTRYPOINT ["ordergate"]
CMD ["--help"]
