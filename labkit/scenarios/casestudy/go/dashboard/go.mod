module labkit.local/dashboard

go 1.22
