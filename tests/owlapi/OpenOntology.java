// Opens each ontology document named on the command line with the OWL API, the library Protégé is built on
// (the copy inside owlready2's HermiT.jar), as Protégé's File > Open does, and prints one tab-separated line
// per document: path, document format, ontology IRI, version IRI, axiom count, logical axiom count, and the
// digest of all its axioms, sorted, so a test can compare what each format of a release holds.
// Run: java -cp HermiT.jar OpenOntology.java FILE...   (Java's single-file source launcher)

import java.io.File;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLAxiom;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyID;
import org.semanticweb.owlapi.model.OWLOntologyManager;

public class OpenOntology {
    public static void main(String[] args) throws Exception {
        for (String path : args) {
            OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
            OWLOntology ontology = manager.loadOntologyFromOntologyDocument(new File(path));
            OWLOntologyID id = ontology.getOntologyID();
            List<String> axioms = new ArrayList<>();
            for (OWLAxiom axiom : ontology.getAxioms()) {
                // OWL 2 reads "abc" as "abc"^^xsd:string; the OWL API 3 in HermiT.jar prints them apart
                axioms.add(axiom.toString().replace("^^xsd:string", ""));
            }
            Collections.sort(axioms);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String axiom : axioms) {
                sha.update(axiom.getBytes("UTF-8"));
                sha.update((byte) '\n');
            }
            StringBuilder hex = new StringBuilder();
            for (byte b : sha.digest()) {
                hex.append(String.format("%02x", b));
            }
            System.out.println(String.join("\t",
                path,
                manager.getOntologyFormat(ontology).getClass().getSimpleName(),
                String.valueOf(id.getOntologyIRI()),
                String.valueOf(id.getVersionIRI()),
                String.valueOf(ontology.getAxiomCount()),
                String.valueOf(ontology.getLogicalAxiomCount()),
                hex.toString()));
        }
    }
}
