// Command local-pipeline prints the local form of a pipeline (package
// localpipeline): what a houdini Concourse on this machine can run.
//
//	local-pipeline -c pipelines/deploy-diego.yml -jobs create-release,deploy-staging,acceptance-staging \
//	    -repo . -git-uri /path/to/repo -git-ref SHA -bucket DIR [-env K=V]...
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/diego-go/diego/tools/concourse/localpipeline"
)

type kvs map[string]string

func (k kvs) String() string { return fmt.Sprint(map[string]string(k)) }
func (k kvs) Set(s string) error {
	n, v, ok := strings.Cut(s, "=")
	if !ok || n == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	k[n] = v
	return nil
}

func main() {
	env := kvs{}
	config := flag.String("c", "", "the pipeline (required)")
	jobs := flag.String("jobs", "", "comma-separated jobs to keep, in the order they run (required)")
	repo := flag.String("repo", ".", "the checkout task files are read from")
	gitURI := flag.String("git-uri", "", "repository every git resource stands for (required)")
	gitRef := flag.String("git-ref", "", "its commit (required)")
	bucket := flag.String("bucket", "", "directory standing in for every s3 bucket (required)")
	flag.Var(env, "env", "NAME=VALUE added to every task's params (repeatable)")
	flag.Parse()
	if *config == "" {
		fmt.Fprintln(os.Stderr, "local-pipeline: -c PIPELINE is required")
		flag.Usage()
		os.Exit(2)
	}
	b, err := os.ReadFile(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-pipeline:", err)
		os.Exit(1)
	}
	out, err := localpipeline.Derive(b, localpipeline.Options{Jobs: strings.Split(*jobs, ","), Repo: *repo,
		GitURI: *gitURI, GitRef: *gitRef, BucketDir: *bucket, Env: env})
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-pipeline:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
