package dev.overlay.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.overlay.NodeIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeIdentityTest {

  @TempDir
  Path dir;

  @Test
  void aSavedIdentityLoadsAsItself() throws IOException {
    NodeIdentity id = NodeIdentity.generate();
    Path f = dir.resolve("node.key");
    id.save(f);
    assertThat(NodeIdentity.load(f).peerId()).isEqualTo(id.peerId());
    assertThat(Files.getPosixFilePermissions(f)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
  }

  @Test
  void aKeyFileOthersCanReadIsRefused() throws IOException {
    Path f = dir.resolve("node.key");
    NodeIdentity.generate().save(f);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> NodeIdentity.load(f)).isInstanceOf(IOException.class)
        .hasMessageContaining("accessible to others").hasMessageContaining("chmod 600");
  }

  @Test
  void aFileWhosePublicKeyIsNotItsPrivateKeysIsRefused() throws IOException {
    Path a = dir.resolve("a.key");
    Path b = dir.resolve("b.key");
    NodeIdentity.generate().save(a);
    NodeIdentity.generate().save(b);
    String privateOfA = Files.readString(a).split("-----BEGIN PUBLIC KEY-----")[0];
    String publicOfB = "-----BEGIN PUBLIC KEY-----" + Files.readString(b).split("-----BEGIN PUBLIC KEY-----")[1];
    Path mixed = dir.resolve("mixed.key");
    Files.writeString(mixed, privateOfA + publicOfB);
    Files.setPosixFilePermissions(mixed, PosixFilePermissions.fromString("rw-------"));
    assertThatThrownBy(() -> NodeIdentity.load(mixed)).isInstanceOf(IOException.class).hasMessageContaining("not the private key's");
  }
}
