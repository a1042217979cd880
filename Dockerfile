# syntax=docker/dockerfile:1.19
# Multi-stage build: static binaries on a distroless base, run as non-root
# (uid 65532). `make docker` builds it as advicechat with VERSION and
# REVISION from git:
#
#   docker build --build-arg VERSION=1.2.0 --build-arg REVISION=$(git rev-parse HEAD) -t advicechat:1.2.0 .
#
# Reproducible: the Go version is the one go.mod names (a test checks it),
# -trimpath leaves no build paths in the binary, -buildvcs=false and the
# stamped version and revision leave nothing that depends on the machine.
# Base images: pin them by digest where you build, by appending
# @sha256:<digest> to each FROM (`docker buildx imagetools inspect
# golang:1.26.8-bookworm` prints it); see docs/operations.md, "The image".
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# Secrets and advisor accounts kept beside the compose files never enter
# the build (.dockerignore keeps them out of the context too).
COPY --exclude=deploy/secrets --exclude=deploy/accounts --exclude=**/accounts.json . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/advicechat ./cmd/advicechat
# The image has no shell or curl: this asks /readyz for the container
# engine's health check (deploy/healthcheck, standard library only).
RUN cd deploy/healthcheck && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/healthcheck .

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title=advicechat \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${REVISION}
COPY --from=build /out/advicechat /advicechat
COPY --from=build /out/healthcheck /healthcheck
USER nonroot:nonroot
ENV ADVICECHAT_ADDR=0.0.0.0:8080 \
    ADVICECHAT_METRICS_ADDR=0.0.0.0:9090 \
    ADVICECHAT_LOG_FORMAT=json
# 8080: visitors and advisors (through the reverse proxy). 9090: /metrics
# only, for Prometheus; never publish it.
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["/healthcheck", "/readyz"]
ENTRYPOINT ["/advicechat"]
CMD ["serve"]
