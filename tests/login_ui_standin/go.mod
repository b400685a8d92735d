module iam-sandbox/login-ui-standin

go 1.22
