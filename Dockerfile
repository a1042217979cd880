# Multi-stage build: a static binary on a distroless base, run as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/advicechat ./cmd/advicechat

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/advicechat /advicechat
USER nonroot:nonroot
ENV ADVICECHAT_ADDR=0.0.0.0:8080 \
    ADVICECHAT_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/advicechat"]
CMD ["serve"]
