module iam-sandbox/standin

go 1.22
