# The README's test command is `make test`; .ci/run calls it too.
.PHONY: test run bench lint fuzz minio

test:
	./scripts/test.sh

# The README's server command: khomat serve on embedded defaults (./khomat-data).
run:
	go run ./cmd/khomat serve

lint:
	./scripts/lint.sh

# Benchmarks need a real MinIO for the S3 figures; scripts/with-minio.sh starts one.
bench:
	./scripts/with-minio.sh go test -run='^$$' -bench=. -benchmem -count=$${COUNT:-5} -timeout=3h ./...

fuzz:
	./scripts/fuzz.sh

minio:
	./scripts/minio.sh
