module github.com/advicechat/advicechat/deploy/healthcheck

go 1.26.8
