//! `backup-controller`: runs the controller with the in-cluster (or
//! `KUBECONFIG`) credentials until SIGTERM or Ctrl-C.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    backup_controller::run(client, 2, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
